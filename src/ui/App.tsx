import { useEffect } from 'react';
import { useStudio } from './store/store';
import { selectAcquireDevice, selectDevice } from './store/selectors';
import { DeviceScreen } from './screens/DeviceScreen';
import { NoWebGpu } from './screens/NoWebGpu';

export function App() {
  const device = useStudio(selectDevice);
  const acquire = useStudio(selectAcquireDevice);
  useEffect(() => {
    void acquire();
  }, [acquire]);
  return (
    <div className="app" data-status={device.status}>
      <header>
        <h1>ShadowPEFT Studio</h1>
        <span className="tagline">fine-tune language models on your own GPU, in the browser</span>
      </header>
      <main>
        {device.status === 'acquiring' || device.status === 'idle' ? <p data-testid="acquiring">Looking for a GPU…</p> : null}
        {device.status === 'unavailable' && <NoWebGpu error={device.error} onRetry={() => void acquire()} />}
        {device.status === 'ready' && <DeviceScreen />}
      </main>
    </div>
  );
}
