/**
 * Batches worker events before they touch the store (docs/conventions.md §8): events wait in a queue
 * that is flushed once per animation frame (with a timer as a fallback for hidden tabs, where
 * requestAnimationFrame does not run).
 */
import type { StudioEvent } from '../../../workers/api';

export type Scheduler = (run: () => void) => void;

/** requestAnimationFrame, or a timer when there is none or the tab is hidden. */
export const frameScheduler: Scheduler = (run) => {
  let done = false;
  const once = () => {
    if (!done) {
      done = true;
      run();
    }
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(once);
  setTimeout(once, 250);
};

export interface EventBatcher {
  push(e: StudioEvent): void;
  /** Applies whatever is queued now (before a screen reads the store synchronously, and in tests). */
  flush(): void;
  readonly size: number;
}

export function createEventBatcher(apply: (events: StudioEvent[]) => void, schedule: Scheduler = frameScheduler): EventBatcher {
  let queue: StudioEvent[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    apply(batch);
  };
  return {
    push(e) {
      queue.push(e);
      if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    },
    flush,
    get size() {
      return queue.length;
    },
  };
}
