import { describe, expect, it } from 'vitest';
import { initialProgress, recordEval } from './progress';

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
