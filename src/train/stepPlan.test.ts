import { describe, expect, it } from 'vitest';
import { plannedSteps, StepPlanner, stepsPerEpoch } from './stepPlan';

describe('step plan', () => {
  it('steps per epoch = ceil(micro-batches / accumulation); maxSteps overrides epochs', () => {
    expect(stepsPerEpoch(10, 2, 2)).toBe(3); // 5 micro-batches → 2 + 2 + 1
    expect(stepsPerEpoch(9, 4, 1)).toBe(3);
    expect(plannedSteps({ epochs: 3, maxSteps: null, microBatchSize: 2, gradientAccumulationSteps: 2 }, 10)).toBe(9);
    expect(plannedSteps({ epochs: 3, maxSteps: 5, microBatchSize: 2, gradientAccumulationSteps: 2 }, 10)).toBe(5);
  });

  it('a step never crosses an epoch; every example is seen once per epoch; a saved cursor resumes exactly', () => {
    const cfg = { microBatchSize: 2, gradientAccumulationSteps: 2, seed: 7 };
    const planner = new StepPlanner(10, cfg);
    const steps = Array.from({ length: 6 }, () => planner.next());
    expect(steps.map((s) => s.length)).toEqual([2, 2, 1, 2, 2, 1]);
    expect(steps.map((s) => s[0]!.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
    for (const epoch of [0, 1]) {
      const seen = steps.filter((s) => s[0]!.epoch === epoch).flatMap((s) => s.flatMap((b) => b.indices));
      expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    const first = steps.flatMap((s) => s.flatMap((b) => b.indices));
    const second = steps.slice(3).flatMap((s) => s.flatMap((b) => b.indices));
    expect(first.slice(0, 10)).not.toEqual(second); // a new order every epoch

    const straight = new StepPlanner(10, cfg);
    straight.next();
    straight.next();
    const resumed = new StepPlanner(10, cfg, straight.cursor);
    for (let i = 0; i < 4; i++) expect(resumed.next()).toEqual(straight.next());
    expect(resumed.epochsDone).toBe(straight.epochsDone);
  });
});
