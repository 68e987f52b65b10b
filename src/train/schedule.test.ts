import { describe, expect, it } from 'vitest';
import { learningRate, lrFactor, scheduleState, warmupSteps } from './schedule';

// Expected values are computed by hand from HF's lr_lambda formulas (transformers/optimization.py):
// linear: s < W ? s/W : (T − s)/(T − W); cosine: s < W ? s/W : ½(1 + cos(π·(s − W)/(T − W))).
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-15);

describe('learning-rate schedule', () => {
  it('warm-up steps are ceil(ratio · total), as TrainingArguments.get_warmup_steps', () => {
    expect(warmupSteps(8, 0.01)).toBe(1);
    expect(warmupSteps(100, 0.01)).toBe(1);
    expect(warmupSteps(101, 0.01)).toBe(2);
    expect(warmupSteps(10, 0.25)).toBe(3);
    expect(warmupSteps(10, 0)).toBe(0);
    // Python's math.ceil(100 * 0.07) is 8 too: 100 · 0.07 = 7.000000000000001 in doubles.
    expect(warmupSteps(100, 0.07)).toBe(8);
  });

  it('linear: 0 at the first update, peak after warm-up, linear to 0 at the end', () => {
    const s = scheduleState({ kind: 'linear', peakLr: 1e-3, totalSteps: 10, warmupRatio: 0.25 }); // W = 3
    expect(s.warmupSteps).toBe(3);
    const want = [0, 1 / 3, 2 / 3, 1, 6 / 7, 5 / 7, 4 / 7, 3 / 7, 2 / 7, 1 / 7, 0, 0];
    want.forEach((f, step) => close(lrFactor(s, step), f));
    close(learningRate(s, 1), 1e-3 / 3);
    close(learningRate(s, 6), (1e-3 * 4) / 7);
  });

  it('linear without warm-up starts at the peak', () => {
    const s = scheduleState({ kind: 'linear', peakLr: 2e-4, totalSteps: 4, warmupRatio: 0 });
    [2e-4, 1.5e-4, 1e-4, 0.5e-4, 0].forEach((lr, k) => close(learningRate(s, k), lr));
  });

  it('cosine: half a cosine from the peak to 0 after warm-up', () => {
    const s = scheduleState({ kind: 'cosine', peakLr: 1, totalSteps: 10, warmupRatio: 0.2 }); // W = 2, T − W = 8
    close(lrFactor(s, 0), 0);
    close(lrFactor(s, 1), 0.5);
    close(lrFactor(s, 2), 1);
    close(lrFactor(s, 4), 0.5 * (1 + Math.SQRT1_2)); // progress 1/4: cos(π/4) = √½
    close(lrFactor(s, 6), 0.5); // progress 1/2
    close(lrFactor(s, 8), 0.5 * (1 - Math.SQRT1_2));
    close(lrFactor(s, 10), 0);
    close(lrFactor(s, 11), 0); // past the end it stays 0 (HF's formula would rise again)
  });
});
