import { describe, expect, it } from 'vitest';
import type { TrainingEvent, TrainStepEvent } from './trainProgress';
import { emptyProgress, lossTrend, MAX_SAMPLES, reduceTraining, truncateHistory } from './trainProgress';

const step = (n: number, loss = 5 - n * 0.1): TrainStepEvent => ({
  type: 'train-step', step: n, totalSteps: 100, epoch: n / 10, loss, baseLoss: loss, shadowLoss: loss + 1, lr: 1e-3 * n, gradNorm: 1 / n,
  tokensPerSecond: 100 * n, elapsedMs: 10 * n, etaMs: 1000 - 10 * n, memoryBytes: 1024,
});

describe('reduceTraining', () => {
  it('folds a batch of steps into column arrays without touching the input', () => {
    const p0 = emptyProgress();
    const p1 = reduceTraining(p0, [step(1), step(2), step(3)]);
    expect(p1.history.step).toEqual([1, 2, 3]);
    expect(p1.history.loss).toEqual([4.9, 4.8, 4.7]);
    expect(p1.history.lr).toEqual([1e-3, 2e-3, 3e-3]);
    expect(p1.history.shadowLoss[2]).toBeCloseTo(5.7, 12);
    expect(p1.last?.step).toBe(3);
    expect(p1.status).toBe('running');
    expect(p0.history.step).toEqual([]);
    expect(p0.status).toBe('idle');
  });

  it('returns the same object for an empty batch (no store update)', () => {
    const p = emptyProgress();
    expect(reduceTraining(p, [])).toBe(p);
  });

  it('keeps earlier arrays intact after a later batch (old snapshots stay valid for charts)', () => {
    const p1 = reduceTraining(emptyProgress(), [step(1), step(2)]);
    const p2 = reduceTraining(p1, [step(3)]);
    expect(p1.history.step).toEqual([1, 2]);
    expect(p2.history.step).toEqual([1, 2, 3]);
    expect(p2.history.step).not.toBe(p1.history.step);
  });

  it('places evaluations, samples, skips, checkpoints and status in order', () => {
    const events: TrainingEvent[] = [
      step(1),
      { type: 'train-skipped', step: 2, reason: 'non-finite gradient' },
      step(2),
      { type: 'train-eval', step: 2, valLoss: 4.5, perplexity: Math.exp(4.5) },
      { type: 'train-checkpoint', step: 2, id: 'c2' },
      { type: 'sample', step: 2, prompt: 'p', text: 'a' },
      { type: 'train-warning', step: 2, error: { code: 'E610', message: 'checkpoint not written', hint: 'free disk space' } },
      { type: 'train-status', status: 'paused', reason: 'user' },
    ];
    const p = reduceTraining(emptyProgress(), events);
    expect(p.history.valStep).toEqual([2]);
    expect(p.history.valLoss).toEqual([4.5]);
    expect(p.lastEval?.perplexity).toBeCloseTo(Math.exp(4.5), 9);
    expect(p.skippedCount).toBe(1);
    expect(p.lastSkipped).toEqual({ step: 2, reason: 'non-finite gradient' });
    expect(p.checkpoints).toEqual([{ step: 2, id: 'c2' }]);
    expect(p.samples[0]).toEqual({ step: 2, prompt: 'p', text: 'a' });
    expect(p.warning).toEqual({ step: 2, error: { code: 'E610', message: 'checkpoint not written', hint: 'free disk space' } });
    expect(p.status).toBe('paused');
    expect(p.reason).toBe('user');
  });

  it('shows an explicit shadow\'s weights coming in until the first step', () => {
    const reading = reduceTraining({ ...emptyProgress(), status: 'starting' }, [{ type: 'shadow-load-progress', file: 'model.safetensors', loaded: 10, total: 40 }]);
    expect(reading.shadowDownload).toEqual({ file: 'model.safetensors', loaded: 10, total: 40 });
    const stepped = reduceTraining(reading, [{ type: 'train-step', step: 1, totalSteps: 2, epoch: 0.5, loss: 1, baseLoss: 1, shadowLoss: 1, lr: 1e-3, gradNorm: 1, tokensPerSecond: 1, elapsedMs: 1, etaMs: 1, memoryBytes: 0 }]);
    expect(stepped.shadowDownload).toBeNull();
    expect(reduceTraining(reading, [{ type: 'train-status', status: 'error' }]).shadowDownload).toBeNull();
  });

  it('replaces replayed steps when a run resumes from an earlier checkpoint', () => {
    let p = reduceTraining(emptyProgress(), [1, 2, 3, 4, 5].map((n) => step(n)));
    p = reduceTraining(p, [{ type: 'train-eval', step: 4, valLoss: 3, perplexity: 20 }]);
    // the checkpoint was at step 3: the worker continues with step 4
    p = reduceTraining(p, [step(4, 1.5), step(5, 1.4)]);
    expect(p.history.step).toEqual([1, 2, 3, 4, 5]);
    expect(p.history.loss.slice(3)).toEqual([1.5, 1.4]);
    expect(p.history.valStep).toEqual([]);
  });

  it('an error status carries the coded error (or a fallback sentence)', () => {
    const err = { code: 'E501', message: 'out of memory', hint: 'lower the micro-batch' };
    expect(reduceTraining(emptyProgress(), [{ type: 'train-status', status: 'error', error: err }]).error).toEqual(err);
    const p = reduceTraining(emptyProgress(), [{ type: 'train-status', status: 'error', reason: 'device lost' }]);
    expect(p.error?.message).toBe('device lost');
    expect(reduceTraining(p, [{ type: 'train-status', status: 'running' }]).error).toBeNull();
  });

  it('keeps at most MAX_SAMPLES samples, newest first', () => {
    const events: TrainingEvent[] = Array.from({ length: MAX_SAMPLES + 5 }, (_, i) => ({ type: 'sample', step: i, prompt: 'p', text: String(i) }));
    const p = reduceTraining(emptyProgress(), events);
    expect(p.samples).toHaveLength(MAX_SAMPLES);
    expect(p.samples[0]!.step).toBe(MAX_SAMPLES + 4);
  });
});

describe('truncateHistory and lossTrend', () => {
  it('drops steps and evaluations from a step on', () => {
    const p = reduceTraining(emptyProgress(), [step(1), step(2), { type: 'train-eval', step: 2, valLoss: 1, perplexity: 2 }, step(3)]);
    const h = truncateHistory(p.history, 2);
    expect(h.step).toEqual([1]);
    expect(h.gradNorm).toEqual([1]);
    expect(h.valStep).toEqual([]);
    expect(p.history.step).toEqual([1, 2, 3]);
  });

  it('compares the mean of the first and last k losses', () => {
    const p = reduceTraining(emptyProgress(), [1, 2, 3, 4, 5, 6].map((n) => step(n, 10 - n)));
    const t = lossTrend(p.history, 2);
    expect(t.start).toBeCloseTo(8.5, 12);
    expect(t.end).toBeCloseTo(4.5, 12);
    expect(lossTrend(emptyProgress().history)).toEqual({ start: null, end: null });
  });
});
