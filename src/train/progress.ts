import type { DataCursor } from './data/epochs';

/** One applied optimizer step, as the loss chart draws it. */
export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  baseLoss: number;
  shadowLoss: number;
  lr: number;
  gradNorm: number;
}

export interface EvalRecord {
  step: number;
  valLoss: number;
  perplexity: number;
  shadowValLoss: number;
}

/**
 * Everything about where a run is, besides the GPU tensors: with the run config, the seed and the
 * dataset it determines every future batch, dropout mask and learning rate. Plain JSON, stored in
 * every checkpoint.
 */
export interface TrainProgress {
  /** optimizer steps applied (= ShadowOptimizer.step) */
  step: number;
  /** where the next step's first micro-batch starts */
  cursor: DataCursor;
  /** skipped (non-finite) steps in a row right now */
  consecutiveSkips: number;
  skippedSteps: number;
  bestValLoss: number | null;
  bestStep: number | null;
  /** evaluations since the best one (early stopping compares it with the patience) */
  evalsWithoutImprovement: number;
  /** training time so far, pauses excluded */
  elapsedMs: number;
  history: StepRecord[];
  evals: EvalRecord[];
}

export function initialProgress(): TrainProgress {
  return { step: 0, cursor: { epoch: 0, position: 0 }, consecutiveSkips: 0, skippedSteps: 0, bestValLoss: null, bestStep: null, evalsWithoutImprovement: 0, elapsedMs: 0, history: [], evals: [] };
}

/**
 * The fractional epoch a progress has reached, as the Train screen shows it: the epoch its last step
 * reported (StepPlanner.epochsDone then), else cursor.epoch + cursor.position / trainExamples when the
 * number of training examples is known, else the whole epochs done.
 */
export function epochOfProgress(p: TrainProgress, trainExamples: number | null = null): number {
  const last = p.history[p.history.length - 1];
  if (last && last.step === p.step) return last.epoch;
  if (trainExamples !== null && trainExamples > 0) return p.cursor.epoch + p.cursor.position / trainExamples;
  return p.cursor.epoch;
}

/** A deep copy (checkpoints must not share arrays with the live run). */
export function cloneProgress(p: TrainProgress): TrainProgress {
  return { ...p, cursor: { ...p.cursor }, history: p.history.map((r) => ({ ...r })), evals: p.evals.map((r) => ({ ...r })) };
}

/**
 * Adds an evaluation and applies early stopping: a validation loss below the best so far resets the
 * count, anything else (equal included) adds one. Returns true once `patience` evaluations in a row
 * brought no improvement (never with patience null).
 */
export function recordEval(p: TrainProgress, e: EvalRecord, patience: number | null): boolean {
  p.evals.push({ ...e });
  if (p.bestValLoss === null || e.valLoss < p.bestValLoss) {
    p.bestValLoss = e.valLoss;
    p.bestStep = e.step;
    p.evalsWithoutImprovement = 0;
  } else p.evalsWithoutImprovement++;
  return patience !== null && p.evalsWithoutImprovement >= patience;
}
