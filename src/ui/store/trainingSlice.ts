import { DEFAULT_EVAL_BATCHES } from '../../train/runConfig';
import type { StateCreator } from 'zustand';
import type { CheckpointInfo, Estimate, ModelInfo, TrainingSettings, WorkerErrorInfo } from '../../../workers/api';
import { parseModelInput, sourceName } from '../lib/modelSource';
import type { ShadowEmbeddings } from '../../shadow/explicitShadow';
import { embeddingChoice, shadowEmbeddingsOf } from '../../shadow/explicitShadow';
import type { ShadowConfig } from '../../shadow/config';
import type { FittedBatch, ShadowPreset } from '../../shadow/presets';
import { fitPresetBatch, recommendedPreset, shadowPreset } from '../../shadow/presets';
import { presetTargetOfInfo } from '../lib/presetTarget';
import { studioWorker, toErrorInfo } from '../worker/client';
import { selectModelFacts, selectModelLoaded } from './selectors';
import type { StudioState } from './store';
import type { TrainingEvent, TrainProgress } from './trainProgress';
import { emptyProgress, reduceTraining } from './trainProgress';

export type SettingsPatch = Partial<Omit<TrainingSettings, 'shadow'>>;

export interface TrainingState {
  /** the preset the settings came from, or 'custom' after an edit */
  presetId: string;
  /**
   * Who chose presetId: 'auto' (fitted to the chosen model, replaced when another model is chosen) or
   * 'user' (a click on a preset or any edit; kept from then on).
   */
  presetSource: 'auto' | 'user';
  /** why the applied preset's batch or length differs from the recipe's (model positions, device limits) */
  presetNotes: string[];
  settings: TrainingSettings;
  estimate: Estimate | null;
  estimateStatus: 'idle' | 'waiting' | 'estimating' | 'ready' | 'error';
  estimateError: WorkerErrorInfo | null;
  /** what the current estimate was made for (settings object and prepared data revision) */
  estimatedFor: { settings: TrainingSettings; dataRevision: number } | null;
  progress: TrainProgress;
  /** something the user asked for is being prepared (loading the model or data before a run) */
  preparing: string | null;
  /** a pause/resume/stop call is in flight */
  commandPending: boolean;
  /** a checkpoint found in IndexedDB when the page opened: offered for resuming */
  resumeOffer: CheckpointInfo | null;
  /** the explicit shadow model box: what was typed, and the model's config once checked */
  shadowModel: ShadowModelCheck;
}

export interface ShadowModelCheck {
  input: string;
  status: 'idle' | 'checking' | 'ready' | 'error';
  /** the checked model (settings.explicitShadow then names it) */
  info: ModelInfo | null;
  error: WorkerErrorInfo | null;
}

export interface TrainingSlice {
  training: TrainingState;
  /** The user's choice of a preset, fitted to the chosen model and the device. */
  applyPreset: (id: string) => void;
  /** Preselects the preset that fits the chosen model, unless the user chose one themselves. */
  preselectPresetForModel: () => void;
  updateShadow: (p: Partial<ShadowConfig>) => void;
  updateSettings: (p: SettingsPatch) => void;
  /** Asks the worker for memory and time; skipped when the estimate already matches the settings and data. */
  requestEstimate: () => Promise<void>;
  startTraining: (resumeFrom?: string) => Promise<void>;
  pauseTraining: () => Promise<void>;
  resumeTraining: () => Promise<void>;
  stopTraining: () => Promise<void>;
  /** Ends the evaluation in progress; training goes on. */
  cancelEvaluation: () => Promise<void>;
  applyTrainingEvents: (events: TrainingEvent[]) => void;
  checkResumable: () => Promise<void>;
  dismissResume: () => void;
  setShadowModelInput: (text: string) => void;
  /** Reads the typed model's config.json through the worker and makes it the shadow (docs/shadowpeft.md §6). */
  checkShadowModel: () => Promise<void>;
  /** own (trained), frozen, or the base's embeddings for the explicit shadow */
  setShadowEmbeddings: (kind: ShadowEmbeddings) => void;
  /** Back to the implicit shadow (fresh layers of the base's architecture). */
  chooseImplicitShadow: () => void;
}

/** The preset before any model is known: the one for the bundled default model (and safe on any). */
export const DEFAULT_PRESET = 'quick-start';
/** Sequences per micro-batch at most: browser GPUs have little memory, so big batches accumulate. */
export const MAX_MICRO_BATCH = 8;

/** A preset's batch without a model or device to fit it to. */
export function unfittedBatch(p: ShadowPreset): FittedBatch {
  return fitPresetBatch(p, { parameters: 0, base: null, maxPositionEmbeddings: null, limits: null }, MAX_MICRO_BATCH);
}

export function settingsFromPreset(p: ShadowPreset, prev?: TrainingSettings, fit: FittedBatch = unfittedBatch(p)): TrainingSettings {
  return {
    shadow: { ...p.shadow, modules_to_save: [...p.shadow.modules_to_save] },
    shadowLossWeight: p.training.shadowLossWeight,
    learningRate: p.training.learningRate,
    weightDecay: p.training.weightDecay,
    warmupRatio: p.training.warmupRatio,
    schedule: p.training.schedule,
    maxGradNorm: prev?.maxGradNorm ?? 1,
    microBatchSize: fit.microBatchSize,
    gradientAccumulation: fit.gradientAccumulation,
    epochs: p.training.epochs,
    evalEvery: prev?.evalEvery ?? 50,
    evalBatches: prev?.evalBatches ?? DEFAULT_EVAL_BATCHES,
    earlyStoppingPatience: prev?.earlyStoppingPatience ?? 0,
    checkpointEvery: prev?.checkpointEvery ?? 100,
    seed: prev?.seed ?? 42,
    explicitShadow: prev?.explicitShadow ?? null,
  };
}

export const initialTrainingState = (): TrainingState => ({
  presetId: DEFAULT_PRESET,
  presetSource: 'auto',
  presetNotes: [],
  settings: settingsFromPreset(shadowPreset(DEFAULT_PRESET)!),
  estimate: null,
  estimateStatus: 'idle',
  estimateError: null,
  estimatedFor: null,
  progress: emptyProgress(),
  preparing: null,
  commandPending: false,
  resumeOffer: null,
  shadowModel: { input: '', status: 'idle', info: null, error: null },
});

/** The chosen model's facts: its inspection (a loaded model may still be the previous choice), else the loaded one. */
function chosenModel(s: StudioState): ModelInfo | null {
  return selectModelFacts(s);
}

const ACTIVE = new Set(['starting', 'running', 'paused']);
let estimateTicket = 0;
/** Bumped by each shadow-model check and by going back to the implicit shadow: a stale answer is dropped. */
let shadowCheckTicket = 0;

export const createTrainingSlice: StateCreator<StudioState, [], [], TrainingSlice> = (set, get) => {
  const patch = (p: Partial<TrainingState>) => set((s) => ({ training: { ...s.training, ...p } }));
  const patchProgress = (p: Partial<TrainProgress>) => set((s) => ({ training: { ...s.training, progress: { ...s.training.progress, ...p } } }));

  /** Loads the chosen model and prepares the data when a run needs them and they are not ready. */
  const ensureReady = async (): Promise<WorkerErrorInfo | null> => {
    const s = get();
    if (!selectModelLoaded(s)) {
      if (!s.model.choice) return { code: 'E820', message: 'no model is loaded', hint: 'choose a model on the Model screen and press Load' };
      patch({ preparing: `loading ${s.model.choice.label}` });
      if (!(await get().loadChosenModel())) {
        const phase = get().model.phase;
        return phase.status === 'failed' ? phase.error : { code: 'E821', message: 'the model did not load', hint: 'see the Model screen' };
      }
    }
    const d = get().data;
    if (!d.summary || d.preparedRevision !== d.revision || d.status !== 'ready') {
      if (!d.text.trim()) return { code: 'E822', message: 'there is no training data', hint: 'pick a demo dataset or upload a file on the Data screen' };
      patch({ preparing: `preparing ${d.fileName}` });
      if (!(await get().prepareData())) return get().data.error ?? { code: 'E823', message: 'the data could not be prepared', hint: 'see the Data screen' };
    }
    return null;
  };

  /**
   * Applies a preset fitted to the chosen model (inspected or loaded) and the device: the settings, and
   * the data's max length (which the Data screen owns; a change there makes the prepared data stale).
   */
  const takePreset = (p: ShadowPreset, presetSource: TrainingState['presetSource']) => {
    const s = get();
    const info = chosenModel(s);
    const fit = info ? fitPresetBatch(p, presetTargetOfInfo(info, s.device.caps), MAX_MICRO_BATCH) : unfittedBatch(p);
    const lengthChanges = s.data.options.maxLength !== fit.maxLength;
    set((st) => ({
      training: { ...st.training, presetId: p.id, presetSource, presetNotes: fit.notes, settings: settingsFromPreset(p, st.training.settings, fit) },
      data: lengthChanges ? { ...st.data, options: { ...st.data.options, maxLength: fit.maxLength }, revision: st.data.revision + 1 } : st.data,
    }));
  };

  return {
    training: initialTrainingState(),

    applyPreset: (id) => {
      const p = shadowPreset(id);
      if (p) takePreset(p, 'user');
    },
    preselectPresetForModel: () => {
      const s = get();
      const info = chosenModel(s);
      // a run in progress keeps the settings and data it started with
      if (!info || s.training.presetSource === 'user' || ACTIVE.has(s.training.progress.status)) return;
      takePreset(recommendedPreset(info.parameters), 'auto');
    },
    updateShadow: (p) => set((s) => ({ training: { ...s.training, presetId: 'custom', presetSource: 'user', presetNotes: [], settings: { ...s.training.settings, shadow: { ...s.training.settings.shadow, ...p } } } })),
    updateSettings: (p) => set((s) => ({ training: { ...s.training, presetId: 'custom', presetSource: 'user', presetNotes: [], settings: { ...s.training.settings, ...p } } })),

    requestEstimate: async () => {
      const s = get();
      if (!selectModelLoaded(s) || s.data.status !== 'ready') {
        patch({ estimateStatus: 'waiting', estimateError: null });
        return;
      }
      const settings = s.training.settings;
      const dataRevision = s.data.preparedRevision;
      const done = s.training.estimatedFor;
      if (s.training.estimateStatus === 'ready' && done?.settings === settings && done.dataRevision === dataRevision) return;
      const ticket = ++estimateTicket;
      patch({ estimateStatus: 'estimating', estimateError: null });
      try {
        const estimate = await studioWorker().estimate(settings);
        if (ticket === estimateTicket) patch({ estimate, estimateStatus: 'ready', estimatedFor: { settings, dataRevision } });
      } catch (e) {
        if (ticket === estimateTicket) patch({ estimateStatus: 'error', estimateError: toErrorInfo(e) });
      }
    },

    startTraining: async (resumeFrom) => {
      if (ACTIVE.has(get().training.progress.status) || get().training.preparing) return;
      patch({ resumeOffer: null, preparing: 'checking model and data' });
      const notReady = await ensureReady();
      patch({ preparing: null });
      if (notReady) {
        patchProgress({ status: 'error', error: notReady });
        return;
      }
      // a fresh run starts a fresh history; a resumed one keeps it (the reducer drops replayed steps)
      if (resumeFrom) patchProgress({ status: 'starting', error: null, reason: null, shadowDownload: null });
      else patch({ progress: { ...emptyProgress(), status: 'starting' } });
      try {
        await studioWorker().train(get().training.settings, resumeFrom);
        get().flushEvents();
        if (get().training.progress.status === 'starting') patchProgress({ status: 'running' });
      } catch (e) {
        get().flushEvents();
        patchProgress({ status: 'error', error: toErrorInfo(e), shadowDownload: null });
      }
    },

    pauseTraining: async () => {
      // The run pauses before its next micro-batch (or evaluation batch): say so until it has.
      patchProgress({ pausing: true });
      await command(() => studioWorker().pause());
    },
    resumeTraining: async () => command(() => studioWorker().resume()),
    stopTraining: async () => command(() => studioWorker().stop()),
    cancelEvaluation: async () => command(() => studioWorker().cancelEvaluation()),

    applyTrainingEvents: (events) => {
      const before = get().training.progress;
      const progress = reduceTraining(before, events);
      patch({ progress });
      // the checkpoint list changes when the run writes one or ends
      if (progress.checkpoints.length !== before.checkpoints.length || (progress.status !== before.status && !ACTIVE.has(progress.status))) void get().refreshCheckpoints();
    },

    checkResumable: async () => {
      try {
        const list = await studioWorker().listCheckpoints();
        const newest = [...list].sort((a, b) => b.createdAt - a.createdAt)[0] ?? null;
        if (newest && get().training.progress.status === 'idle') patch({ resumeOffer: newest });
      } catch {
        // no checkpoint store (private window, no model yet): nothing to offer
      }
    },
    dismissResume: () => patch({ resumeOffer: null }),

    setShadowModelInput: (text) => patch({ shadowModel: { ...get().training.shadowModel, input: text } }),
    checkShadowModel: async () => {
      const t = get().training;
      // after a reload the box is empty but the settings still name the model
      const text = t.shadowModel.input.trim() || (t.settings.explicitShadow ? sourceName(t.settings.explicitShadow.source) : '');
      const origin = (globalThis as { location?: { href: string } }).location?.href ?? 'http://localhost/';
      const choice = parseModelInput(text, origin);
      if ('error' in choice) {
        // a failed check keeps the model the settings already name (and says which it is)
        patch({ shadowModel: { input: text, status: 'error', info: t.shadowModel.info, error: { code: 'E824', message: choice.error, hint: 'use a model with the same tokenizer as the base, e.g. a smaller one of the same family' } } });
        return;
      }
      patch({ shadowModel: { input: text, status: 'checking', info: t.shadowModel.info, error: null } });
      const ticket = ++shadowCheckTicket;
      try {
        const info = await studioWorker().inspectModel(choice.source);
        if (ticket !== shadowCheckTicket) return;
        const prev = get().training.settings.explicitShadow;
        const embeddings = embeddingChoice(prev ? shadowEmbeddingsOf(prev) : 'own');
        set((s) => ({ training: { ...s.training, shadowModel: { input: text, status: 'ready', info, error: null }, settings: { ...s.training.settings, explicitShadow: { source: choice.source, ...embeddings } } } }));
      } catch (e) {
        if (ticket === shadowCheckTicket) patch({ shadowModel: { input: text, status: 'error', info: t.shadowModel.info, error: toErrorInfo(e) } });
      }
    },
    setShadowEmbeddings: (kind) => {
      const e = get().training.settings.explicitShadow;
      if (e) set((s) => ({ training: { ...s.training, settings: { ...s.training.settings, explicitShadow: { source: e.source, ...embeddingChoice(kind) } } } }));
    },
    chooseImplicitShadow: () => {
      shadowCheckTicket++;
      set((s) => ({ training: { ...s.training, settings: { ...s.training.settings, explicitShadow: null }, shadowModel: { ...s.training.shadowModel, status: 'idle', info: null, error: null } } }));
    },
  };

  async function command(call: () => Promise<void>): Promise<void> {
    patch({ commandPending: true });
    try {
      await call();
    } catch (e) {
      patchProgress({ error: toErrorInfo(e) });
    } finally {
      patch({ commandPending: false });
      get().flushEvents();
    }
  }
};
