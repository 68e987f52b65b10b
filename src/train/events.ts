/**
 * What the training loop reports, through one callback, as a union discriminated by `type`. Plain
 * data only: the worker forwards these across its boundary unchanged.
 */

/** One optimizer step that was applied. `step` is 1-based (the optimizer's step count after it). */
export interface StepEvent {
  type: 'step';
  step: number;
  /** epochs done after this step, fractional (1.5 = half way through the second epoch) */
  epoch: number;
  /** λ-combined loss, mean over the supervised tokens of the whole (accumulated) batch */
  loss: number;
  baseLoss: number;
  shadowLoss: number;
  /** the learning rate this update used */
  lr: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  /** real (non-padding) tokens of the step per second of its wall time */
  tokensPerSecond: number;
  /** time spent training and evaluating in this run so far (pauses excluded; carried across resumes) */
  elapsedMs: number;
  /** estimated time to the last step at the average step time so far */
  etaMs: number;
  /** the run's GPU memory estimate, when the caller gave one */
  memoryBytes?: number;
}

/** Validation after `step`: base-model cross entropy over every supervised validation token. */
export interface EvalEvent {
  type: 'eval';
  step: number;
  valLoss: number;
  perplexity: number;
  /** the shadow-only head's cross entropy (what detached inference would score) */
  shadowValLoss: number;
}

/** Evaluation in progress: `done` of `total` batches scored (0 of n when it starts). */
export interface EvalProgressEvent {
  type: 'eval-progress';
  step: number;
  done: number;
  total: number;
}

/** An evaluation ended before its last batch: cancelled by the user, or interrupted by a pause or stop (it reruns on resume). */
export interface EvalCancelledEvent {
  type: 'eval-cancelled';
  step: number;
  reason: 'cancelled' | 'paused' | 'stopped';
}

/** An optimizer step that changed nothing: a gradient was NaN/±Inf, or the batch had no target. */
export interface SkippedEvent {
  type: 'skipped';
  /** the step number that was attempted (the optimizer's step count stays one below it) */
  step: number;
  reason: string;
  /** skips in a row so far (the loop pauses itself at NON_FINITE_PAUSE_AFTER) */
  consecutive: number;
}

export interface PausedEvent {
  type: 'paused';
  /** optimizer steps taken */
  step: number;
  /** 'user': controller.pause(); 'non-finite': too many skipped steps in a row */
  reason: 'user' | 'non-finite';
}

export interface CheckpointEvent {
  type: 'checkpoint';
  step: number;
  id: string;
}

/** A periodic checkpoint could not be saved (full storage, non-finite adapter); training goes on. */
export interface CheckpointErrorEvent {
  type: 'checkpoint-error';
  step: number;
  code: string;
  message: string;
  hint: string;
}

export type DoneReason = 'completed' | 'stopped' | 'early-stopped';

export interface DoneEvent {
  type: 'done';
  reason: DoneReason;
  /** optimizer steps taken */
  step: number;
  /** the lowest validation loss seen and its step (null without evaluation) */
  bestValLoss: number | null;
  bestStep: number | null;
}

export type TrainEvent = StepEvent | EvalEvent | EvalProgressEvent | EvalCancelledEvent | SkippedEvent | PausedEvent | CheckpointEvent | CheckpointErrorEvent | DoneEvent;
