/**
 * The UI's one handle on the worker (CONVENTIONS.md §7). Components never touch comlink; they call
 * the store's actions, which call this client.
 */
import * as Comlink from 'comlink';
import type { StudioWorkerApi, WorkerErrorInfo } from '../../../workers/api';

let remote: Comlink.Remote<StudioWorkerApi> | null = null;

export function studioWorker(): Comlink.Remote<StudioWorkerApi> {
  if (!remote) {
    const worker = new Worker(new URL('../../../workers/studio.worker.ts', import.meta.url), { type: 'module', name: 'studio' });
    remote = Comlink.wrap<StudioWorkerApi>(worker);
  }
  return remote;
}

/** Normalises anything thrown across the boundary into a coded error for display. */
export function toErrorInfo(e: unknown): WorkerErrorInfo {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const o = e as Partial<WorkerErrorInfo>;
    return { code: String(o.code), message: String(o.message), hint: String(o.hint ?? '') };
  }
  return { code: 'E000', message: e instanceof Error ? e.message : String(e), hint: '' };
}
