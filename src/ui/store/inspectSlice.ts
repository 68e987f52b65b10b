import type { StateCreator } from 'zustand';
import type { GenerationMode, LayerStates, LogitLensView, StudioEvent, WorkerErrorInfo } from '../../../workers/api';
import { studioWorker, toErrorInfo } from '../worker/client';
import { selectModelLoaded } from './selectors';
import type { StudioState } from './store';

export type TokenEvent = Extract<StudioEvent, { type: 'token' }>;
export const GENERATION_MODES: readonly GenerationMode[] = ['base', 'base_shadow', 'shadow_only'];

export interface PlaygroundColumn {
  status: 'idle' | 'waiting' | 'running' | 'done' | 'cancelled' | 'error';
  text: string;
  tokenCount: number;
  tokensPerSecond: number | null;
  requestId: number | null;
  startedAt: number | null;
  stoppedBy: string | null;
  error: WorkerErrorInfo | null;
}

export type SnapshotEvent = Extract<StudioEvent, { type: 'inspect-snapshot' }>;

export interface InspectState {
  prompt: string;
  status: 'idle' | 'running' | 'ready' | 'error';
  states: LayerStates | null;
  error: WorkerErrorInfo | null;
  /** the training step the adapter was at when the heatmaps were computed */
  atStep: number | null;
  selected: { layer: number; token: number } | null;
  /** the probe prompt's statistics after each evaluation of the current run, oldest first */
  snapshots: { step: number; prompt: string; states: LayerStates }[];
  /** index into snapshots shown by the slider (null: the newest) */
  snapshotIndex: number | null;
  /** the logit lens of the selected token (null until one is selected) */
  lens: { token: number; status: 'running' | 'ready' | 'error'; view: LogitLensView | null } | null;
}

export interface PlaygroundState {
  prompt: string;
  chat: boolean;
  maxNewTokens: number;
  temperature: number;
  running: boolean;
  columns: Record<GenerationMode, PlaygroundColumn>;
}

export interface InspectSlice {
  inspect: InspectState;
  playground: PlaygroundState;
  setInspectPrompt: (prompt: string) => void;
  runInspect: () => Promise<void>;
  selectCell: (layer: number, token: number) => void;
  addSnapshots: (events: SnapshotEvent[]) => void;
  showSnapshot: (index: number) => void;
  setPlayground: (p: Partial<Pick<PlaygroundState, 'prompt' | 'chat' | 'maxNewTokens' | 'temperature'>>) => void;
  runPlayground: () => Promise<void>;
  cancelPlayground: () => Promise<void>;
  applyTokenEvents: (events: TokenEvent[]) => void;
}

const emptyColumn = (): PlaygroundColumn => ({ status: 'idle', text: '', tokenCount: 0, tokensPerSecond: null, requestId: null, startedAt: null, stoppedBy: null, error: null });

export const initialInspectState = (): InspectState => ({ prompt: 'The quick brown fox jumps over the lazy dog.', status: 'idle', states: null, error: null, atStep: null, selected: null, lens: null, snapshots: [], snapshotIndex: null });
export const initialPlaygroundState = (): PlaygroundState => ({
  prompt: 'Write one sentence about the sea.',
  chat: true,
  maxNewTokens: 48,
  temperature: 0,
  running: false,
  columns: { base: emptyColumn(), base_shadow: emptyColumn(), shadow_only: emptyColumn() },
});

let nextRequestId = 1;

/** Appends streamed tokens to the column whose request they belong to (pure, unit-tested). */
export function applyTokens(columns: PlaygroundState['columns'], events: readonly TokenEvent[], now: number): PlaygroundState['columns'] {
  let out = columns;
  for (const e of events) {
    const c = out[e.mode];
    if (c.requestId !== e.requestId || (c.status !== 'running' && c.status !== 'waiting')) continue;
    const tokenCount = c.tokenCount + 1;
    const elapsed = c.startedAt !== null ? (now - c.startedAt) / 1000 : 0;
    out = { ...out, [e.mode]: { ...c, status: 'running', text: c.text + e.text, tokenCount, tokensPerSecond: elapsed > 0 ? tokenCount / elapsed : null } };
  }
  return out;
}

export const createInspectSlice: StateCreator<StudioState, [], [], InspectSlice> = (set, get) => {
  const patchInspect = (p: Partial<InspectState>) => set((s) => ({ inspect: { ...s.inspect, ...p } }));
  const patchColumn = (mode: GenerationMode, p: Partial<PlaygroundColumn>) =>
    set((s) => ({ playground: { ...s.playground, columns: { ...s.playground.columns, [mode]: { ...s.playground.columns[mode], ...p } } } }));
  return {
    inspect: initialInspectState(),
    playground: initialPlaygroundState(),

    setInspectPrompt: (prompt) => patchInspect({ prompt }),

    runInspect: async () => {
      const prompt = get().inspect.prompt;
      if (!prompt.trim()) {
        patchInspect({ status: 'error', error: { code: 'E830', message: 'the prompt is empty', hint: 'type a sentence to look inside the network' } });
        return;
      }
      if (!selectModelLoaded(get())) {
        patchInspect({ status: 'error', error: { code: 'E831', message: 'no model is loaded', hint: 'load a model on the Model screen first' } });
        return;
      }
      patchInspect({ status: 'running', error: null });
      try {
        const states = await studioWorker().inspect(prompt);
        const atStep = get().training.progress.last?.step ?? null;
        const sel = get().inspect.selected;
        const keep = sel && sel.layer < states.layers && sel.token < states.tokens.length;
        patchInspect({ status: 'ready', states, atStep, selected: keep ? sel : null, lens: null });
      } catch (e) {
        patchInspect({ status: 'error', error: toErrorInfo(e) });
      }
    },

    addSnapshots: (events) => {
      const known = new Set(get().inspect.snapshots.map((s) => s.step));
      const added = events.filter((e) => !known.has(e.step)).map((e) => ({ step: e.step, prompt: e.prompt, states: e.states }));
      patchInspect({ snapshots: [...get().inspect.snapshots, ...added].sort((a, b) => a.step - b.step) });
    },
    showSnapshot: (index) => patchInspect({ snapshotIndex: index }),

    selectCell: (layer, token) => {
      patchInspect({ selected: { layer, token } });
      const current = get().inspect.lens;
      if (current && current.token === token && current.status !== 'error') return;
      patchInspect({ lens: { token, status: 'running', view: null } });
      studioWorker()
        .logitLens(get().inspect.prompt, token, 5)
        .then(
          (view) => get().inspect.lens?.token === token && patchInspect({ lens: { token, status: 'ready', view } }),
          () => get().inspect.lens?.token === token && patchInspect({ lens: { token, status: 'error', view: null } }),
        );
    },

    setPlayground: (p) => set((s) => ({ playground: { ...s.playground, ...p } })),

    runPlayground: async () => {
      const pg = get().playground;
      if (pg.running) return;
      if (!selectModelLoaded(get())) {
        for (const mode of GENERATION_MODES) patchColumn(mode, { ...emptyColumn(), status: 'error', error: { code: 'E831', message: 'no model is loaded', hint: 'load a model on the Model screen first' } });
        return;
      }
      set((s) => ({ playground: { ...s.playground, running: true, columns: { base: { ...emptyColumn(), status: 'waiting' }, base_shadow: { ...emptyColumn(), status: 'waiting' }, shadow_only: { ...emptyColumn(), status: 'waiting' } } } }));
      // one at a time: the three share the GPU, and each column's tokens/s should be its own
      for (const mode of GENERATION_MODES) {
        if (!get().playground.running) {
          patchColumn(mode, { status: 'cancelled' });
          continue;
        }
        const requestId = nextRequestId++;
        patchColumn(mode, { status: 'running', requestId, startedAt: performance.now() });
        try {
          const r = await studioWorker().generate(
            { prompt: pg.prompt, mode, chat: pg.chat, maxNewTokens: pg.maxNewTokens, temperature: pg.temperature, topK: 50, topP: 1, repetitionPenalty: 1.1, seed: 42 },
            requestId,
          );
          get().flushEvents();
          const cancelled = r.stoppedBy === 'cancelled' || !get().playground.running;
          patchColumn(mode, { status: cancelled ? 'cancelled' : 'done', text: r.text, tokenCount: r.tokens.length, tokensPerSecond: r.tokensPerSecond, stoppedBy: r.stoppedBy });
        } catch (e) {
          get().flushEvents();
          patchColumn(mode, { status: 'error', error: toErrorInfo(e) });
        }
      }
      set((s) => ({ playground: { ...s.playground, running: false } }));
    },

    cancelPlayground: async () => {
      set((s) => ({ playground: { ...s.playground, running: false } }));
      for (const mode of GENERATION_MODES) {
        const c = get().playground.columns[mode];
        if (c.status === 'running' && c.requestId !== null) await studioWorker().cancelGeneration(c.requestId).catch(() => undefined);
      }
    },

    applyTokenEvents: (events) => set((s) => ({ playground: { ...s.playground, columns: applyTokens(s.playground.columns, events, performance.now()) } })),
  };
};
