import { describe, expect, it } from 'vitest';
import { epochOfProgress, initialProgress, recordEval } from './progress';

describe('early stopping', () => {
  it('stops after `patience` evaluations in a row without a lower validation loss', () => {
    const p = initialProgress();
    const losses = [3, 2.5, 2.6, 2.5, 2.7];
    const stops = losses.map((valLoss, i) => recordEval(p, { step: (i + 1) * 10, valLoss, perplexity: Math.exp(valLoss), shadowValLoss: 4 }, 2));
    // 2.5 at step 20 is the best; 2.6 is one miss, an equal 2.5 is the second: stop at step 40.
    expect(stops).toEqual([false, false, false, true, true]);
    expect(p.bestValLoss).toBe(2.5);
    expect(p.bestStep).toBe(20);
    expect(p.evals.map((e) => e.step)).toEqual([10, 20, 30, 40, 50]);
  });

  it('never stops with patience null; an improvement resets the count', () => {
    const p = initialProgress();
    expect([5, 6, 7, 8].map((valLoss, i) => recordEval(p, { step: i, valLoss, perplexity: 0, shadowValLoss: 0 }, null))).toEqual([false, false, false, false]);
    const q = initialProgress();
    expect([5, 6, 4, 6, 7].map((valLoss, i) => recordEval(q, { step: i, valLoss, perplexity: 0, shadowValLoss: 0 }, 2))).toEqual([false, false, false, false, true]);
  });
});

describe('epochOfProgress', () => {
  it('is the fractional epoch the step reported (what the Train screen shows), not the cursor’s whole epochs', () => {
    const p = initialProgress();
    p.step = 2;
    p.cursor = { epoch: 0, position: 4 };
    p.history.push({ step: 1, epoch: 0.01, loss: 1, baseLoss: 1, shadowLoss: 1, lr: 1, gradNorm: 1 }, { step: 2, epoch: 0.02, loss: 1, baseLoss: 1, shadowLoss: 1, lr: 1, gradNorm: 1 });
    expect(epochOfProgress(p)).toBe(0.02);
    // no record of this step (e.g. skipped): from the cursor, with the training examples when known
    p.step = 3;
    p.cursor = { epoch: 1, position: 50 };
    expect(epochOfProgress(p, 200)).toBe(1.25);
    expect(epochOfProgress(p)).toBe(1);
  });
});
