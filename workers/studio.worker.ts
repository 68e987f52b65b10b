/// <reference lib="webworker" />
/**
 * The studio's dedicated worker: owns the GPU device and every GPU object. The UI reaches it only
 * through the typed API of api.ts (comlink).
 */
import * as Comlink from 'comlink';
import { acquireDevice } from '../src/engine/device';
import { StudioError } from '../src/engine/errors';
import { Gpu } from '../src/engine/runtime';
import type { StudioWorkerApi } from './api';
import { runSelfTest } from './selfTest/index';

let gpuPromise: Promise<Gpu> | null = null;

function gpu(): Promise<Gpu> {
  gpuPromise ??= acquireDevice().then(({ device, caps }) => new Gpu(device, caps));
  // A failed acquisition may be retried (the user may enable a flag and press retry).
  gpuPromise.catch(() => (gpuPromise = null));
  return gpuPromise;
}

/** Errors cross the boundary as plain coded objects so the UI can show the message and the hint. */
async function coded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StudioError) throw { code: e.code, message: e.message, hint: e.hint };
    throw { code: 'E000', message: e instanceof Error ? e.message : String(e), hint: 'this is a bug in the studio; please report it' };
  }
}

const api: StudioWorkerApi = {
  capabilities: () => coded(async () => (await gpu()).caps),
  selfTest: () => coded(async () => runSelfTest(await gpu())),
};

Comlink.expose(api);
