import type { StateCreator } from 'zustand';
import type { LoadedModel, ModelInfo, StudioEvent, WorkerErrorInfo } from '../../../workers/api';
import { localFolderId } from '../../model/sources/source';
import type { BundledModel } from '../lib/manifests';
import { fetchIndex, parseModelIndex } from '../lib/manifests';
import type { ModelChoice } from '../lib/modelSource';
import { studioWorker, toErrorInfo } from '../worker/client';
import type { StudioState } from './store';

export type LoadProgressEvent = Extract<StudioEvent, { type: 'load-progress' }>;

export interface ModelState {
  bundled: BundledModel[];
  bundledStatus: 'idle' | 'loading' | 'ready' | 'missing' | 'error';
  choice: ModelChoice | null;
  info: ModelInfo | null;
  infoStatus: 'idle' | 'inspecting' | 'ready' | 'error';
  infoError: WorkerErrorInfo | null;
  loaded: LoadedModel | null;
  /** the choice that `loaded` came from */
  loadedKey: string | null;
  loadStatus: 'idle' | 'loading' | 'loaded' | 'error';
  loadError: WorkerErrorInfo | null;
  progress: LoadProgressEvent | null;
}

export interface ModelSlice {
  model: ModelState;
  /** Stops a load in progress (the worker rejects the load with E509). */
  cancelModelLoad: () => Promise<void>;
  discoverBundledModels: () => Promise<void>;
  /** Selects a source and inspects it (config and sizes, no weights). */
  chooseModel: (choice: ModelChoice) => Promise<void>;
  loadChosenModel: () => Promise<boolean>;
  setLoadProgress: (e: LoadProgressEvent) => void;
}

export const initialModelState = (): ModelState => ({
  bundled: [],
  bundledStatus: 'idle',
  choice: null,
  info: null,
  infoStatus: 'idle',
  infoError: null,
  loaded: null,
  loadedKey: null,
  loadStatus: 'idle',
  loadError: null,
  progress: null,
});

/**
 * A bundled model: shown by its title, recorded (adapters, checkpoints, model cards) as the folder it
 * is, `local folder <name>` — the title is no id that Python could load.
 */
export function bundledChoice(m: BundledModel): ModelChoice {
  return { key: `bundled:${m.name}`, label: m.title, source: { kind: 'url', url: m.url, label: localFolderId(m.name) } };
}

// inspections answer out of order when the user clicks quickly: only the newest one counts
let inspectTicket = 0;

export const createModelSlice: StateCreator<StudioState, [], [], ModelSlice> = (set, get) => {
  const patch = (p: Partial<ModelState>) => set((s) => ({ model: { ...s.model, ...p } }));
  return {
    model: initialModelState(),

    cancelModelLoad: async () => {
      if (get().model.loadStatus === 'loading') await studioWorker().cancelLoad();
    },
    discoverBundledModels: async () => {
      if (get().model.bundledStatus === 'loading') return;
      patch({ bundledStatus: 'loading' });
      try {
        const raw = await fetchIndex('/models/index.json');
        const bundled = raw === null ? [] : parseModelIndex(raw, location.origin);
        patch({ bundled, bundledStatus: bundled.length ? 'ready' : 'missing' });
        const def = bundled.find((m) => m.isDefault);
        // preselect the bundled default unless the user (or a restored session) chose already
        if (def && !get().model.choice) await get().chooseModel(bundledChoice(def));
      } catch {
        patch({ bundledStatus: 'error' });
      }
    },

    chooseModel: async (choice) => {
      const ticket = ++inspectTicket;
      patch({ choice, info: null, infoStatus: 'inspecting', infoError: null });
      try {
        const info = await studioWorker().inspectModel(choice.source);
        if (ticket !== inspectTicket) return;
        patch({ info, infoStatus: 'ready' });
        // the presets are sized by model: preselect the one that fits (unless the user chose one)
        get().preselectPresetForModel();
      } catch (e) {
        if (ticket === inspectTicket) patch({ infoStatus: 'error', infoError: toErrorInfo(e) });
      }
    },

    loadChosenModel: async () => {
      const { choice, loadStatus } = get().model;
      if (!choice || loadStatus === 'loading') return false;
      patch({ loadStatus: 'loading', loadError: null, progress: null });
      try {
        const loaded = await studioWorker().loadModel(choice.source);
        get().flushEvents();
        patch({ loaded, loadedKey: choice.key, loadStatus: 'loaded', progress: null, info: get().model.info ?? loaded, infoStatus: 'ready' });
        // before the data is prepared: the fitting preset may set its max length
        get().preselectPresetForModel();
        // the tokenizer decides the data's tokens: (re)prepare the data, then refresh the estimate
        if (get().data.text) await get().prepareData();
        return true;
      } catch (e) {
        patch({ loadStatus: 'error', loadError: toErrorInfo(e), progress: null });
        return false;
      }
    },

    setLoadProgress: (e) => {
      // progress that arrives after the load finished (batched events) must not reopen the bar
      if (get().model.loadStatus === 'loading') patch({ progress: e });
    },
  };
};
