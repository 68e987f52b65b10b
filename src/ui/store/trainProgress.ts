/**
 * The training run as the UI sees it, and the pure reducer that folds a batch of worker events into
 * it. The event sink queues events and applies them about once per animation frame (eventQueue.ts),
 * so the store changes at most once per frame however fast the worker reports steps.
 */
import type { StudioEvent, WorkerErrorInfo } from '../../../workers/api';

export type TrainingEvent = Extract<StudioEvent, { type: 'train-step' | 'train-eval' | 'train-eval-progress' | 'train-eval-cancelled' | 'train-skipped' | 'train-checkpoint' | 'train-warning' | 'train-status' | 'sample' | 'shadow-load-progress' }>;
export type TrainStepEvent = Extract<StudioEvent, { type: 'train-step' }>;
export type TrainStatus = 'idle' | 'starting' | 'running' | 'paused' | 'stopped' | 'done' | 'error';

/** Column arrays, one entry per optimizer step (val* one per evaluation): what the charts plot. */
export interface TrainHistory {
  step: number[];
  epoch: number[];
  loss: number[];
  baseLoss: number[];
  shadowLoss: number[];
  lr: number[];
  gradNorm: number[];
  tokensPerSecond: number[];
  valStep: number[];
  valLoss: number[];
}

export interface TrainSample {
  step: number;
  prompt: string;
  text: string;
}

export interface TrainProgress {
  status: TrainStatus;
  /** why the run paused or ended, as the worker said */
  reason: string | null;
  error: WorkerErrorInfo | null;
  history: TrainHistory;
  last: TrainStepEvent | null;
  lastEval: { step: number; valLoss: number; perplexity: number } | null;
  skippedCount: number;
  lastSkipped: { step: number; reason: string } | null;
  checkpoints: { step: number; id: string }[];
  /** the last problem that did not stop the run (e.g. a checkpoint that could not be written) */
  warning: { step: number; error: WorkerErrorInfo } | null;
  /** the newest first, at most MAX_SAMPLES */
  samples: TrainSample[];
  /** while a fresh run reads an explicit shadow's pretrained weights: the file being read */
  shadowDownload: { file: string; loaded: number; total: number | null } | null;
  /**
   * The evaluation in progress (a phase of its own: training waits for it): batches done of total,
   * and when it started (performance.now() of the UI) for its own ETA; null between evaluations.
   */
  evaluation: { step: number; done: number; total: number; startedAt: number } | null;
  /** Pause was pressed and the run has not paused yet (it pauses before its next micro-batch) */
  pausing: boolean;
  /** how the last evaluation that did not finish ended */
  lastEvalCancel: { step: number; reason: 'cancelled' | 'paused' | 'stopped' } | null;
}

export const MAX_SAMPLES = 20;

export function emptyHistory(): TrainHistory {
  return { step: [], epoch: [], loss: [], baseLoss: [], shadowLoss: [], lr: [], gradNorm: [], tokensPerSecond: [], valStep: [], valLoss: [] };
}

export function emptyProgress(): TrainProgress {
  return { status: 'idle', reason: null, error: null, history: emptyHistory(), last: null, lastEval: null, skippedCount: 0, lastSkipped: null, checkpoints: [], warning: null, samples: [], shadowDownload: null, evaluation: null, pausing: false, lastEvalCancel: null };
}

const STEP_COLUMNS = ['step', 'epoch', 'loss', 'baseLoss', 'shadowLoss', 'lr', 'gradNorm', 'tokensPerSecond'] as const;

/** A copy of the history with every step ≥ `fromStep` removed (a resumed run replays them). */
export function truncateHistory(h: TrainHistory, fromStep: number): TrainHistory {
  const keep = h.step.findIndex((s) => s >= fromStep);
  const keepVal = h.valStep.findIndex((s) => s >= fromStep);
  const out = { ...h };
  if (keep >= 0) for (const c of STEP_COLUMNS) out[c] = h[c].slice(0, keep);
  if (keepVal >= 0) {
    out.valStep = h.valStep.slice(0, keepVal);
    out.valLoss = h.valLoss.slice(0, keepVal);
  }
  return out;
}

/**
 * Folds events, in order, into a new TrainProgress (the input is not modified; arrays are copied
 * once per batch, not once per event). A step at or below the last recorded one means the run was
 * restarted or resumed from an earlier checkpoint: the history from that step on is replaced.
 */
export function reduceTraining(p: TrainProgress, events: readonly TrainingEvent[], now: () => number = () => performance.now()): TrainProgress {
  if (events.length === 0) return p;
  let h = p.history;
  let copied = false;
  const own = () => {
    if (!copied) {
      h = { ...h };
      for (const c of STEP_COLUMNS) h[c] = h[c].slice();
      h.valStep = h.valStep.slice();
      h.valLoss = h.valLoss.slice();
      copied = true;
    }
    return h;
  };
  const next: TrainProgress = { ...p };
  for (const e of events) {
    switch (e.type) {
      case 'train-step': {
        const lastStep = h.step.length ? h.step[h.step.length - 1]! : -Infinity;
        if (e.step <= lastStep) {
          h = truncateHistory(h, e.step);
          copied = false;
        }
        const w = own();
        w.step.push(e.step);
        w.epoch.push(e.epoch);
        w.loss.push(e.loss);
        w.baseLoss.push(e.baseLoss);
        w.shadowLoss.push(e.shadowLoss);
        w.lr.push(e.lr);
        w.gradNorm.push(e.gradNorm);
        w.tokensPerSecond.push(e.tokensPerSecond);
        next.last = e;
        next.shadowDownload = null;
        if (next.status === 'starting' || next.status === 'idle') next.status = 'running';
        break;
      }
      case 'train-eval': {
        const w = own();
        const at = w.valStep.findIndex((s) => s >= e.step);
        if (at >= 0) {
          w.valStep.length = at;
          w.valLoss.length = at;
        }
        w.valStep.push(e.step);
        w.valLoss.push(e.valLoss);
        next.lastEval = { step: e.step, valLoss: e.valLoss, perplexity: e.perplexity };
        next.evaluation = null;
        break;
      }
      case 'train-eval-progress':
        next.evaluation = e.done === 0 || !next.evaluation || next.evaluation.step !== e.step ? { step: e.step, done: e.done, total: e.total, startedAt: now() } : { ...next.evaluation, done: e.done, total: e.total };
        break;
      case 'train-eval-cancelled':
        next.evaluation = null;
        next.lastEvalCancel = { step: e.step, reason: e.reason };
        break;
      case 'train-skipped':
        next.skippedCount++;
        next.lastSkipped = { step: e.step, reason: e.reason };
        break;
      case 'train-checkpoint':
        next.checkpoints = [...next.checkpoints.filter((c) => c.id !== e.id), { step: e.step, id: e.id }];
        break;
      case 'train-warning':
        next.warning = { step: e.step, error: e.error };
        break;
      case 'train-status':
        next.status = e.status;
        next.shadowDownload = null;
        if (e.status !== 'running') next.evaluation = null;
        next.pausing = false;
        next.reason = e.reason ?? null;
        next.error = e.status === 'error' ? (e.error ?? { code: 'E000', message: e.reason ?? 'training failed', hint: 'see the browser console' }) : null;
        break;
      case 'sample':
        next.samples = [{ step: e.step, prompt: e.prompt, text: e.text }, ...next.samples].slice(0, MAX_SAMPLES);
        break;
      case 'shadow-load-progress':
        next.shadowDownload = { file: e.file, loaded: e.loaded, total: e.total };
        break;
    }
  }
  next.history = h;
  return next;
}

/** Mean of the first / last k training losses: what "the loss is falling" compares. */
export function lossTrend(h: TrainHistory, k = 5): { start: number | null; end: number | null } {
  const n = h.loss.length;
  if (n === 0) return { start: null, end: null };
  const m = Math.min(k, n);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { start: mean(h.loss.slice(0, m)), end: mean(h.loss.slice(n - m)) };
}
