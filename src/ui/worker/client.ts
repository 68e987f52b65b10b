/**
 * The UI's one handle on the worker (docs/conventions.md §7). Components never touch comlink; they call
 * the store's actions, which call this client.
 */
import * as Comlink from 'comlink';
import type { StudioEvent, StudioWorkerApi, WorkerErrorInfo } from '../../../workers/api';

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
    const code = String(o.code);
    const hint = String(o.hint ?? '');
    // A StudioError's message repeats its code and hint ("E401 … — hint"): show each part once.
    let message = String(o.message);
    if (message.startsWith(`${code} `)) message = message.slice(code.length + 1);
    if (hint && message.endsWith(` — ${hint}`)) message = message.slice(0, -(hint.length + 3));
    return { code, message, hint };
  }
  return { code: 'E000', message: e instanceof Error ? e.message : String(e), hint: '' };
}

/** Routes every worker event to `sink` (the worker holds one sink; a second call replaces it). */
export function connectEvents(sink: (e: StudioEvent) => void): Promise<void> {
  return studioWorker().setEventSink(Comlink.proxy(sink));
}

/** Marks buffers inside a call argument as transferred (moved to the worker, not copied). */
export function transferring<T>(value: T, buffers: Transferable[]): T {
  return Comlink.transfer(value, buffers);
}

