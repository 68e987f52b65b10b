/// <reference lib="webworker" />
/**
 * The studio's dedicated worker: owns the GPU device and every GPU object. The UI reaches it only
 * through the typed API of api.ts (comlink); events flow back through one sink.
 */
import * as Comlink from 'comlink';
import { StudioError } from '../src/engine/errors';
import { exportAdapter, importAdapter } from './adapterCommands';
import type { StudioWorkerApi } from './api';
import { loadDataset } from './dataCommands';
import { cancelGeneration, generateText } from './generateCommands';
import { inspect, lens } from './inspectCommands';
import { cancelLoad, heldModelId, inspectModel, loadModel } from './modelCommands';
import { runSelfTest } from './selfTest/index';
import { getGpu, session } from './session';
import { cancelEvaluation, deleteCheckpoint, estimate, evaluate, exportCheckpoint, listCheckpoints, pause, resume, stop, train } from './trainCommands';

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

const api: StudioWorkerApi = {
  capabilities: coded(async () => (await getGpu()).caps),
  selfTest: coded(async () => runSelfTest(await getGpu())),
  setEventSink: (sink) => {
    session.emit = (e) => void Promise.resolve(sink(e)).catch(() => undefined);
  },
  inspectModel: coded(inspectModel),
  loadModel: coded(loadModel),
  cancelLoad: coded(cancelLoad),
  heldModelId: coded(heldModelId),
  loadDataset: coded(loadDataset),
  estimate: coded(estimate),
  train: coded(train),
  pause: coded(pause),
  resume: coded(resume),
  stop: coded(stop),
  cancelEvaluation: coded(cancelEvaluation),
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
