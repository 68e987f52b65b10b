import type { StateCreator } from 'zustand';
import type { DatasetSummary, WorkerErrorInfo } from '../../../workers/api';
import { shadowPreset } from '../../shadow/presets';
import type { FileType } from '../../train/data/detect';
import { detectFileType } from '../../train/data/detect';
import type { DemoDataset } from '../lib/manifests';
import { fetchIndex, parseDatasetIndex } from '../lib/manifests';
import { studioWorker, toErrorInfo } from '../worker/client';
import { selectModelLoaded } from './selectors';
import type { StudioState } from './store';
import { DEFAULT_PRESET } from './trainingSlice';

export interface DataOptions {
  onError: 'skip' | 'stop';
  maxLength: number;
  validationFraction: number;
  seed: number;
}

export interface DataState {
  demos: DemoDataset[];
  demosStatus: 'idle' | 'loading' | 'ready' | 'missing' | 'error';
  text: string;
  fileName: string;
  origin: 'none' | 'upload' | 'paste' | 'demo';
  demoFile: string | null;
  options: DataOptions;
  status: 'idle' | 'fetching' | 'waiting-model' | 'preparing' | 'ready' | 'error';
  summary: DatasetSummary | null;
  error: WorkerErrorInfo | null;
  /**
   * Pasted text: the type the user picked (null: the detected one). A pick holds while edits keep the
   * text's detected type (`pasteChosenFor`); a paste of another type goes back to detection.
   */
  pasteKind: FileType | null;
  pasteChosenFor: FileType | null;
  /** bumped on every change of text or options; the summary is stale when preparedRevision differs */
  revision: number;
  preparedRevision: number;
}

export interface DataSlice {
  data: DataState;
  discoverDemos: () => Promise<void>;
  setDataText: (text: string, fileName: string, origin: DataState['origin'], demoFile?: string | null) => void;
  /** Typed or pasted text: its type is detected again on every change (unless the user's pick still fits). */
  pasteText: (text: string) => void;
  /** The user's type for pasted text; 'auto' follows the detection. */
  choosePasteKind: (kind: FileType | 'auto') => void;
  /** The user's data options; a new max length makes the training settings custom (presets set it too). */
  setDataOptions: (p: Partial<DataOptions>) => void;
  chooseDemo: (demo: DemoDataset) => Promise<void>;
  /** Parses, tokenizes and splits the data in the worker (needs a loaded model for its tokenizer). */
  prepareData: () => Promise<boolean>;
}

/** The max length is the default preset's until a model is chosen (then the fitting preset sets it). */
export const DEFAULT_DATA_OPTIONS: DataOptions = { onError: 'skip', maxLength: shadowPreset(DEFAULT_PRESET)!.training.maxLength, validationFraction: 0.1, seed: 42 };

export const initialDataState = (): DataState => ({
  demos: [],
  demosStatus: 'idle',
  text: '',
  fileName: 'pasted.jsonl',
  origin: 'none',
  demoFile: null,
  pasteKind: null,
  pasteChosenFor: null,
  options: { ...DEFAULT_DATA_OPTIONS },
  status: 'idle',
  summary: null,
  error: null,
  revision: 0,
  preparedRevision: -1,
});

let prepareTicket = 0;

/** What pasted text looks like: its first non-blank line decides (`{` JSONL, a tab TSV, a comma CSV, else text). */
export function detectPastedType(text: string): FileType {
  return detectFileType('', text);
}

/** The paste's type: the user's pick while the text still looks as it did when picked, else the detected one. */
export function pasteTypeOf(text: string, pick: { kind: FileType | null; chosenFor: FileType | null }): { type: FileType; keepsPick: boolean } {
  const detected = detectPastedType(text);
  const keepsPick = pick.kind !== null && pick.chosenFor === detected;
  return { type: keepsPick ? pick.kind! : detected, keepsPick };
}

export const createDataSlice: StateCreator<StudioState, [], [], DataSlice> = (set, get) => {
  const patch = (p: Partial<DataState>) => set((s) => ({ data: { ...s.data, ...p } }));
  return {
    data: initialDataState(),

    discoverDemos: async () => {
      if (get().data.demosStatus === 'loading') return;
      patch({ demosStatus: 'loading' });
      try {
        const raw = await fetchIndex('/datasets/index.json');
        const demos = raw === null ? [] : parseDatasetIndex(raw, location.origin);
        patch({ demos, demosStatus: demos.length ? 'ready' : 'missing' });
      } catch {
        patch({ demosStatus: 'error' });
      }
    },

    setDataText: (text, fileName, origin, demoFile = null) =>
      set((s) => ({
        data: {
          ...s.data,
          text,
          fileName,
          origin,
          demoFile,
          // another file or a demo starts detection afresh; pasting keeps the pick (pasteText decides)
          ...(origin === 'paste' ? {} : { pasteKind: null, pasteChosenFor: null }),
          revision: s.data.revision + 1,
          error: null,
          status: s.data.status === 'error' ? 'idle' : s.data.status,
        },
      })),

    pasteText: (text) => {
      const d = get().data;
      const pick = d.origin === 'paste' ? { kind: d.pasteKind, chosenFor: d.pasteChosenFor } : { kind: null, chosenFor: null };
      const { type, keepsPick } = pasteTypeOf(text, pick);
      get().setDataText(text, `pasted.${type}`, 'paste');
      if (!keepsPick) patch({ pasteKind: null, pasteChosenFor: null });
    },

    choosePasteKind: (kind) => {
      const d = get().data;
      const detected = detectPastedType(d.text);
      const pick = kind === 'auto' ? null : kind;
      get().setDataText(d.text, `pasted.${pick ?? detected}`, 'paste');
      patch({ pasteKind: pick, pasteChosenFor: pick === null ? null : detected });
    },

    setDataOptions: (p) =>
      set((s) => {
        const ownLength = p.maxLength !== undefined && p.maxLength !== s.data.options.maxLength;
        return {
          data: { ...s.data, options: { ...s.data.options, ...p }, revision: s.data.revision + 1 },
          // the max length is part of a preset: the user's own one is kept when another model is chosen
          ...(ownLength ? { training: { ...s.training, presetId: 'custom', presetSource: 'user' as const, presetNotes: [] } } : {}),
        };
      }),

    chooseDemo: async (demo) => {
      patch({ status: 'fetching', error: null });
      try {
        const res = await fetch(demo.url);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        get().setDataText(await res.text(), demo.file, 'demo', demo.file);
      } catch (e) {
        patch({
          status: 'error',
          error: { code: 'E810', message: `the demo dataset ${demo.file} could not be fetched (${e instanceof Error ? e.message : String(e)})`, hint: 'reload the page; if it persists, upload the file yourself' },
        });
        return;
      }
      await get().prepareData();
    },

    prepareData: async () => {
      const d = get().data;
      if (!d.text.trim()) {
        const message = d.origin === 'upload' ? `the file ${d.fileName} is empty` : 'there is no data yet';
        patch({ status: 'error', error: { code: 'E811', message, hint: 'upload a file, paste some lines or pick a demo dataset' } });
        return false;
      }
      if (!selectModelLoaded(get())) {
        patch({ status: 'waiting-model', error: null });
        return false;
      }
      const ticket = ++prepareTicket;
      const revision = d.revision;
      patch({ status: 'preparing', error: null });
      try {
        const summary = await studioWorker().loadDataset({ text: d.text, fileName: d.fileName, ...d.options });
        if (ticket !== prepareTicket) return false;
        patch({ status: 'ready', summary, preparedRevision: revision });
        void get().requestEstimate();
        return true;
      } catch (e) {
        if (ticket === prepareTicket) patch({ status: 'error', error: toErrorInfo(e), summary: null });
        return false;
      }
    },
  };
};
