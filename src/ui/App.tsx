import { useEffect } from 'react';
import { NavBar } from './components/NavBar';
import { AdaptersScreen } from './screens/AdaptersScreen';
import { ConfigureScreen } from './screens/ConfigureScreen';
import { DataScreen } from './screens/DataScreen';
import { DeviceScreen } from './screens/DeviceScreen';
import { InspectScreen } from './screens/InspectScreen';
import { ModelScreen } from './screens/ModelScreen';
import { NoWebGpu } from './screens/NoWebGpu';
import { PlaygroundScreen } from './screens/PlaygroundScreen';
import { ResumeOffer, TrainScreen } from './screens/TrainScreen';
import { startPersistence } from './store/persist';
import { selectAcquireDevice, selectDevice, selectProgress, selectResumeOffer, selectScreen } from './store/selectors';
import { useStudio } from './store/store';
import type { ScreenId } from './store/uiSlice';

const SCREENS: Record<ScreenId, () => React.JSX.Element | null> = {
  model: ModelScreen,
  data: DataScreen,
  configure: ConfigureScreen,
  train: TrainScreen,
  inspect: InspectScreen,
  playground: PlaygroundScreen,
  adapters: AdaptersScreen,
  device: DeviceScreen,
};

let booted = false;

/** Once the GPU is ready: events, bundled models and data, the restored model, and any run to resume. */
async function boot(): Promise<void> {
  if (booted) return;
  booted = true;
  const s = useStudio.getState();
  await s.connectWorkerEvents();
  const restored = s.model.choice;
  await Promise.all([
    s.discoverBundledModels(),
    s.discoverDemos(),
    restored && useStudio.getState().model.phase.status === 'idle' && !useStudio.getState().model.info ? s.chooseModel(restored) : Promise.resolve(),
    s.checkResumable(),
  ]);
}

export function App() {
  const device = useStudio(selectDevice);
  const acquire = useStudio(selectAcquireDevice);
  const screen = useStudio(selectScreen);
  const offer = useStudio(selectResumeOffer);
  const status = useStudio(selectProgress).status;
  useEffect(() => {
    startPersistence();
    void acquire();
  }, [acquire]);
  useEffect(() => {
    if (device.status === 'ready') void boot();
  }, [device.status]);
  const Screen = SCREENS[screen];
  const idle = status !== 'running' && status !== 'paused' && status !== 'starting';
  return (
    <div className="app" data-status={device.status}>
      <header>
        <h1>ShadowPEFT Studio</h1>
        <span className="tagline">fine-tune language models on your own GPU, in the browser</span>
      </header>
      {device.status === 'ready' && <NavBar />}
      <main>
        {device.status === 'acquiring' || device.status === 'idle' ? <p data-testid="acquiring">Looking for a GPU…</p> : null}
        {device.status === 'unavailable' && <NoWebGpu error={device.error} onRetry={() => void acquire()} />}
        {device.status === 'ready' && (
          <>
            {offer && idle && screen !== 'train' && <ResumeOffer offer={offer} compact />}
            <Screen />
          </>
        )}
      </main>
    </div>
  );
}
