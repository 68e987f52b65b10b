import type { StateCreator } from 'zustand';
import type { AdapterFilesPayload, CheckpointInfo, ImportedAdapter, WorkerErrorInfo } from '../../../workers/api';
import { buildAdapterZip, CARD_FILE, CONFIG_FILE, HISTORY_FILE, readAdapterUpload, WEIGHTS_FILE } from '../lib/adapterZip';
import { fileSafe, saveBlob } from '../lib/download';
import { baseModelRecordOf, buildModelCard, explicitShadowRecordOf, lossHistoryCsv, modelShortName } from '../lib/modelCard';
import { studioWorker, toErrorInfo, transferring } from '../worker/client';
import { selectHeldModel } from './selectors';
import type { StudioState } from './store';

export interface AdaptersState {
  checkpoints: CheckpointInfo[];
  listStatus: 'idle' | 'loading' | 'ready' | 'error';
  listError: WorkerErrorInfo | null;
  /** id of the checkpoint an action is running on */
  busyId: string | null;
  exportStatus: 'idle' | 'exporting' | 'done' | 'error';
  exportError: WorkerErrorInfo | null;
  lastExport: { fileName: string; bytes: number; files: string[] } | null;
  importStatus: 'idle' | 'importing' | 'done' | 'error';
  importError: WorkerErrorInfo | null;
  imported: (ImportedAdapter & { fileNames: string[] }) | null;
}

export interface AdaptersSlice {
  adapters: AdaptersState;
  refreshCheckpoints: () => Promise<void>;
  deleteCheckpoint: (id: string) => Promise<void>;
  /** The current adapter as a .zip: config, weights, model card, loss history. */
  downloadAdapterZip: (dtype: 'F32' | 'BF16') => Promise<void>;
  downloadCheckpointZip: (checkpoint: CheckpointInfo, dtype: 'F32' | 'BF16') => Promise<void>;
  importAdapterFiles: (files: File[]) => Promise<void>;
}

export const initialAdaptersState = (): AdaptersState => ({
  checkpoints: [],
  listStatus: 'idle',
  listError: null,
  busyId: null,
  exportStatus: 'idle',
  exportError: null,
  lastExport: null,
  importStatus: 'idle',
  importError: null,
  imported: null,
});

export const createAdaptersSlice: StateCreator<StudioState, [], [], AdaptersSlice> = (set, get) => {
  const patch = (p: Partial<AdaptersState>) => set((s) => ({ adapters: { ...s.adapters, ...p } }));

  /** Zips an exported adapter with the card and history built from the studio's state, and saves it. */
  const saveZip = (payload: AdapterFilesPayload, dtype: 'F32' | 'BF16', label: string) => {
    const s = get();
    const m = s.model;
    // The base as the file records it (repo id, `local folder <name>` or URL; a stored checkpoint's
    // own), never the choice's label: a bundled model's title is nothing Python can load.
    const held = selectHeldModel(s);
    const loaded = held?.model ?? m.info;
    const recorded = baseModelRecordOf(payload.safetensors);
    const baseModel = recorded.id ?? loaded?.id ?? 'unknown base model';
    const isLoaded = loaded?.id === baseModel;
    const source = isLoaded && held && m.choice && m.choice.key === held.key ? m.choice.source : null;
    const readme = buildModelCard({
      baseModel,
      baseRevision: recorded.revision ?? (isLoaded ? loaded.revision : null),
      baseFilesUrl: source?.kind === 'url' ? source.url : null,
      data: s.data.summary,
      settings: s.training.settings,
      explicitShadow: explicitShadowRecordOf(payload.safetensors),
      maxLength: s.data.summary ? s.data.options.maxLength : null,
      history: s.training.progress.history,
      trainableParameters: s.training.estimate?.trainableParameters ?? null,
      dtype,
      createdAt: new Date(),
    });
    const zip = buildAdapterZip({ configJson: payload.configJson, safetensors: payload.safetensors, readme, lossCsv: lossHistoryCsv(s.training.progress.history) });
    const fileName = `${fileSafe(modelShortName(baseModel))}-shadow-${label}.zip`;
    saveBlob(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }), fileName);
    patch({ exportStatus: 'done', lastExport: { fileName, bytes: zip.byteLength, files: [CONFIG_FILE, WEIGHTS_FILE, CARD_FILE, HISTORY_FILE] } });
  };

  return {
    adapters: initialAdaptersState(),

    refreshCheckpoints: async () => {
      patch({ listStatus: 'loading', listError: null });
      try {
        const list = await studioWorker().listCheckpoints();
        patch({ checkpoints: [...list].sort((a, b) => b.createdAt - a.createdAt), listStatus: 'ready' });
      } catch (e) {
        patch({ listStatus: 'error', listError: toErrorInfo(e) });
      }
    },

    deleteCheckpoint: async (id) => {
      patch({ busyId: id });
      try {
        await studioWorker().deleteCheckpoint(id);
        if (get().training.resumeOffer?.id === id) get().dismissResume();
      } catch (e) {
        patch({ listError: toErrorInfo(e) });
      } finally {
        patch({ busyId: null });
      }
      await get().refreshCheckpoints();
    },

    downloadAdapterZip: async (dtype) => {
      patch({ exportStatus: 'exporting', exportError: null });
      try {
        const payload = await studioWorker().exportAdapter(dtype);
        const step = get().training.progress.last?.step;
        saveZip(payload, dtype, step ? `step${step}` : 'adapter');
      } catch (e) {
        patch({ exportStatus: 'error', exportError: toErrorInfo(e) });
      }
    },

    downloadCheckpointZip: async (c, dtype) => {
      patch({ exportStatus: 'exporting', exportError: null, busyId: c.id });
      try {
        const payload = await studioWorker().exportCheckpoint(c.id, dtype);
        saveZip(payload, dtype, `${c.runId.slice(0, 8)}-step${c.step}`);
      } catch (e) {
        patch({ exportStatus: 'error', exportError: toErrorInfo(e) });
      } finally {
        patch({ busyId: null });
      }
    },

    importAdapterFiles: async (files) => {
      if (files.length === 0) return;
      patch({ importStatus: 'importing', importError: null });
      try {
        const uploads = await Promise.all(files.map(async (f) => ({ name: f.webkitRelativePath || f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
        const payload = readAdapterUpload(uploads);
        const result = await studioWorker().importAdapter(transferring(payload, [payload.safetensors]), get().training.settings.explicitShadow ?? null);
        patch({ importStatus: 'done', imported: { ...result, fileNames: files.map((f) => f.name) } });
        // the Configure screen shows the imported adapter's shape
        set((s) => ({ training: { ...s.training, presetId: 'custom', presetSource: 'user', presetNotes: [], settings: { ...s.training.settings, shadow: result.shadow } } }));
      } catch (e) {
        patch({ importStatus: 'error', importError: toErrorInfo(e) });
      }
    },
  };
};
