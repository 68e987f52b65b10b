import type { StateCreator } from 'zustand';
import type { LoadedModel, ModelInfo, StudioEvent, WorkerErrorInfo } from '../../../workers/api';
import { localFolderId } from '../../model/sources/source';
import type { BundledModel } from '../lib/manifests';
import { fetchIndex, parseModelIndex } from '../lib/manifests';
import type { ModelChoice } from '../lib/modelSource';
import { studioWorker, toErrorInfo } from '../worker/client';
import type { StudioState } from './store';

export type LoadProgressEvent = Extract<StudioEvent, { type: 'load-progress' }>;

/** A model the worker holds (its weights are on the GPU) and the choice it came from. */
export interface HeldModel {
  model: LoadedModel;
  /** the ModelChoice it was loaded from: its key, and its label as shown */
  key: string;
  label: string;
}

/**
 * The one model state (issue 20): the Model screen, the Data screen and the nav derive from it
 * (selectors.ts). `held` is what the worker holds, so a failure never hides a loaded model: a failed
 * lookup (config.json, sizes) leaves the old one loaded; a load that fails on the weights leaves none
 * (the worker frees the old model first), and the slice asks the worker which happened. Each state
 * carries at most one error.
 */
export type ModelPhase =
  /** no model on the GPU and nothing in progress (a choice may have been looked up: see `info`) */
  | { status: 'idle' }
  /** reading the chosen model's config.json and sizes (no weights) */
  | { status: 'looking-up'; key: string; held: HeldModel | null }
  /** loading `key`'s weights; nothing usable is held meanwhile */
  | { status: 'loading'; key: string; progress: LoadProgressEvent | null }
  | { status: 'loaded'; held: HeldModel }
  | { status: 'failed'; key: string; stage: 'lookup' | 'load'; error: WorkerErrorInfo; held: HeldModel | null };

export interface ModelState {
  bundled: BundledModel[];
  bundledStatus: 'idle' | 'loading' | 'ready' | 'missing' | 'error';
  choice: ModelChoice | null;
  /** the looked-up facts of `choice` (null until looked up, or when the lookup failed) */
  info: ModelInfo | null;
  phase: ModelPhase;
}

export interface ModelSlice {
  model: ModelState;
  /** Stops a load in progress (the worker rejects the load with E509). */
  cancelModelLoad: () => Promise<void>;
  discoverBundledModels: () => Promise<void>;
  /** Selects a source and inspects it (config and sizes, no weights). Ignored while a model loads. */
  chooseModel: (choice: ModelChoice) => Promise<void>;
  loadChosenModel: () => Promise<boolean>;
  setLoadProgress: (e: LoadProgressEvent) => void;
}

export const initialModelState = (): ModelState => ({
  bundled: [],
  bundledStatus: 'idle',
  choice: null,
  info: null,
  phase: { status: 'idle' },
});

/** The model the worker holds in this phase (null: none, or one is loading). */
export function heldModelOf(phase: ModelPhase): HeldModel | null {
  return phase.status === 'loaded' || phase.status === 'looking-up' || phase.status === 'failed' ? phase.held : null;
}

/** The phase once nothing is in progress: loaded when the worker holds a model, else idle. */
function settled(held: HeldModel | null): ModelPhase {
  return held ? { status: 'loaded', held } : { status: 'idle' };
}

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
      if (get().model.phase.status === 'loading') await studioWorker().cancelLoad();
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
      // the load in progress decides what the worker holds; a new choice waits for it (the screen disables the choices)
      if (get().model.phase.status === 'loading') return;
      const ticket = ++inspectTicket;
      const held = heldModelOf(get().model.phase);
      // a new choice drops the previous choice's error: the error belonged to it
      patch({ choice, info: null, phase: { status: 'looking-up', key: choice.key, held } });
      try {
        const info = await studioWorker().inspectModel(choice.source);
        if (ticket !== inspectTicket || get().model.phase.status !== 'looking-up') return;
        patch({ info, phase: settled(heldModelOf(get().model.phase)) });
        // the presets are sized by model: preselect the one that fits (unless the user chose one)
        get().preselectPresetForModel();
      } catch (e) {
        const phase = get().model.phase;
        if (ticket === inspectTicket && phase.status === 'looking-up') patch({ phase: { status: 'failed', key: choice.key, stage: 'lookup', error: toErrorInfo(e), held: phase.held } });
      }
    },

    loadChosenModel: async () => {
      const { choice, phase } = get().model;
      if (!choice || phase.status === 'loading') return false;
      const before = heldModelOf(phase);
      inspectTicket++; // a lookup still in flight is answered by the load
      patch({ phase: { status: 'loading', key: choice.key, progress: null } });
      try {
        const loaded = await studioWorker().loadModel(choice.source);
        get().flushEvents();
        // the loaded model's facts are the lookup's and what the load measured (the bytes it read)
        const facts = get().model.choice?.key === choice.key ? { info: loaded } : {};
        patch({ ...facts, phase: { status: 'loaded', held: { model: loaded, key: choice.key, label: choice.label } } });
        // before the data is prepared: the fitting preset may set its max length
        get().preselectPresetForModel();
        // the tokenizer decides the data's tokens: (re)prepare the data, then refresh the estimate
        if (get().data.text) await get().prepareData();
        return true;
      } catch (e) {
        const error = toErrorInfo(e);
        // the worker frees the old model only once the new one's config and tokenizer are read: ask what it holds
        const heldId = await heldModelIdOrNull();
        const held = before && heldId === before.model.id ? before : null;
        patch({ phase: { status: 'failed', key: choice.key, stage: held ? 'lookup' : 'load', error, held } });
        return false;
      }
    },

    setLoadProgress: (e) => {
      // progress that arrives after the load finished (batched events) must not reopen the bar
      const phase = get().model.phase;
      if (phase.status === 'loading') patch({ phase: { ...phase, progress: e } });
    },
  };
};

/** The worker's answer, or null when it cannot say (then nothing is assumed loaded). */
async function heldModelIdOrNull(): Promise<string | null> {
  try {
    return await studioWorker().heldModelId();
  } catch {
    return null;
  }
}
