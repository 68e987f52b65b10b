import type { StateCreator } from 'zustand';
import type { StudioEvent, WorkerErrorInfo } from '../../../workers/api';
import { connectEvents } from '../worker/client';
import { createEventBatcher } from './eventQueue';
import type { SnapshotEvent, TokenEvent } from './inspectSlice';
import type { LoadProgressEvent } from './modelSlice';
import type { StudioState } from './store';
import type { TrainingEvent } from './trainProgress';

/** The worker's one event stream, batched per animation frame and routed to the slices. */
export interface EventsSlice {
  /** the sink handed to the worker: queues, never touches the store directly */
  receiveEvent: (e: StudioEvent) => void;
  /** applies the queued events now (after a call returns, so its last events are visible) */
  flushEvents: () => void;
  connectWorkerEvents: () => Promise<void>;
}

/** Splits one batch by kind and hands each kind to its slice in one store update per kind. */
export function routeEvents(s: StudioState, events: readonly StudioEvent[]): void {
  const training: TrainingEvent[] = [];
  const tokens: TokenEvent[] = [];
  let progress: LoadProgressEvent | null = null;
  const snapshots: SnapshotEvent[] = [];
  let lost: WorkerErrorInfo | null = null;
  for (const e of events) {
    if (e.type === 'device-lost') lost = e.error;
    else if (e.type === 'token') tokens.push(e);
    else if (e.type === 'load-progress') progress = e;
    else if (e.type === 'inspect-snapshot') snapshots.push(e);
    else training.push(e);
  }
  if (snapshots.length) s.addSnapshots(snapshots);
  if (training.length) s.applyTrainingEvents(training);
  if (tokens.length) s.applyTokenEvents(tokens);
  if (progress) s.setLoadProgress(progress);
  // after the run's own end (the worker sends the loss after it), so the offer takes its last checkpoint
  if (lost) void s.deviceLost(lost);
}

export const createEventsSlice: StateCreator<StudioState, [], [], EventsSlice> = (_set, get) => {
  const queue = createEventBatcher((events) => routeEvents(get(), events));
  return {
    receiveEvent: (e) => queue.push(e),
    flushEvents: () => queue.flush(),
    connectWorkerEvents: () => connectEvents(get().receiveEvent),
  };
};
