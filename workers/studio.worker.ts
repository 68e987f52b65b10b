/// <reference lib="webworker" />
/**
 * The studio's dedicated worker: owns the GPU device and every GPU object. The UI reaches it only
 * through the typed API of api.ts (comlink); events flow back through one sink.
 */
import * as Comlink from 'comlink';
import { StudioError } from '../src/engine/errors';
import { inspectLayerStates, LAYER_STATS } from '../src/shadow/inspect';
import { ShadowPeftModel } from '../src/shadow/shadowModel';
import { shadowConfig } from '../src/shadow/config';
import { exportAdapter, importAdapter } from './adapterCommands';
import type { LayerStates, LogitLensView, StudioWorkerApi } from './api';
import { logitLens } from '../src/shadow/logitLens';
import { loadDataset } from './dataCommands';
import { cancelGeneration, generateText, promptIds } from './generateCommands';
import { cancelLoad, inspectModel, loadModel } from './modelCommands';
import { runSelfTest } from './selfTest/index';
import { getGpu, requireModel, session } from './session';
import { deleteCheckpoint, estimate, evaluate, exportCheckpoint, listCheckpoints, pause, resume, stop, train } from './trainCommands';

/** Errors cross the boundary as plain coded objects so the UI can show the message and the hint. */
function coded<A extends unknown[], T>(fn: (...args: A) => Promise<T> | T): (...args: A) => Promise<T> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      if (e instanceof StudioError) {
        // A coded error that says it is a bug (a GPU validation error, an internal one) is logged like an uncoded one.
        if (/bug in the studio/.test(e.hint)) console.error(`studio worker: ${e.code}`, e);
        throw { code: e.code, message: e.message, hint: e.hint };
      }
      if (e && typeof e === 'object' && 'code' in e && 'message' in e) throw e; // already coded (data issues)
      // Uncoded: a bug. Its stack goes to the console, which the hint points to.
      console.error('studio worker: uncoded error', e);
      throw { code: 'E000', message: e instanceof Error ? e.message : String(e), hint: 'this is a bug in the studio; please report it with the browser console\'s output' };
    }
  };
}

/**
 * Runs `use` on the session's adapter or, without one, on a fresh adapter (the identity: the base
 * unchanged) made for this call and freed after it.
 */
async function withShadow<T>(use: (shadow: ShadowPeftModel) => Promise<T>): Promise<T> {
  if (session.shadow) return use(session.shadow);
  const fresh = await ShadowPeftModel.create(requireModel().model, shadowConfig());
  try {
    return await use(fresh);
  } finally {
    fresh.destroy();
  }
}

/** Layer × token statistics of a prompt; without a trained adapter, a fresh one (the identity) is used. */
async function inspect(prompt: string): Promise<LayerStates> {
  const { tokenizer } = requireModel();
  const ids = promptIds(prompt, false).slice(0, 256);
  if (ids.length === 0) throw new StudioError('E504', 'the prompt is empty', 'type a prompt first');
  const r = await withShadow((shadow) => inspectLayerStates(shadow, ids));
  const stats = Object.fromEntries(LAYER_STATS.map((s) => [s, Array.from(r.stats[s])])) as LayerStates['stats'];
  return { tokens: ids.map((id) => tokenizer.decode([id])), layers: r.slots, stats };
}

async function lens(prompt: string, token: number, k: number): Promise<LogitLensView> {
  const { tokenizer } = requireModel();
  const ids = promptIds(prompt, false).slice(0, 256);
  if (token < 0 || token >= ids.length) throw new StudioError('E508', `token ${token} is outside the prompt's ${ids.length} tokens`, 'select a cell of the heatmaps again');
  const r = await withShadow((shadow) => logitLens(shadow, ids, token, k));
  const view = (list: { id: number; prob: number }[]) => list.map((e) => ({ text: tokenizer.decode([e.id]), prob: e.prob }));
  return { token, layers: r.layers.map((l) => ({ baseOff: view(l.baseOff), baseOn: view(l.baseOn), shadow: view(l.shadow) })) };
}

const api: StudioWorkerApi = {
  capabilities: coded(async () => (await getGpu()).caps),
  selfTest: coded(async () => runSelfTest(await getGpu())),
  setEventSink: (sink) => {
    session.emit = (e) => void Promise.resolve(sink(e)).catch(() => undefined);
  },
  inspectModel: coded(inspectModel),
  loadModel: coded(loadModel),
  cancelLoad: coded(cancelLoad),
  loadDataset: coded(loadDataset),
  estimate: coded(estimate),
  train: coded(train),
  pause: coded(pause),
  resume: coded(resume),
  stop: coded(stop),
  evaluate: coded(evaluate),
  generate: coded(generateText),
  cancelGeneration: coded(cancelGeneration),
  inspect: coded(inspect),
  logitLens: coded(lens),
  exportAdapter: coded(async (dtype: 'F32' | 'BF16') => {
    const files = await exportAdapter(dtype);
    return Comlink.transfer(files, [files.safetensors]);
  }),
  importAdapter: coded(importAdapter),
  listCheckpoints: coded(listCheckpoints),
  deleteCheckpoint: coded(deleteCheckpoint),
  exportCheckpoint: coded(exportCheckpoint),
};

Comlink.expose(api);
