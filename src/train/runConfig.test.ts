import { describe, expect, it } from 'vitest';
import { isStudioError } from '../engine/errors';
import { runConfig, runConfigIssues, validateRunConfig } from './runConfig';
import type { RunConfig } from './runConfig';

const base = { id: 'Qwen/Qwen3-0.6B', revision: 'main' };

describe('run configuration', () => {
  it('defaults follow the authors’ recipe (docs/shadowpeft.md §10) and round-trip through JSON', () => {
    const c = runConfig(base);
    expect(runConfigIssues(c)).toEqual([]);
    expect(c.learningRate).toBe(1e-3);
    expect(c.weightDecay).toBe(0.01);
    expect(c.warmupRatio).toBe(0.01);
    expect(c.schedule).toBe('linear');
    expect(c.shadowLossWeight).toBe(0.05);
    expect(c.maxLength).toBe(512);
    expect(c.microBatchSize * c.gradientAccumulationSteps).toBe(32);
    expect(c.shadow).toMatchObject({ alpha: 0.1, dropout: 0.2, num_shadow_layers: 1, shadow_intermediate_size: 256, injection_hidden_size: 16, gate_hidden_size: 10 });
    expect(JSON.parse(JSON.stringify(c))).toEqual(c);
  });

  it('overrides apply; every bad field is a coded E301 naming it', () => {
    expect(runConfig(base, { learningRate: 3e-3, epochs: 4 }).learningRate).toBe(3e-3);
    const good = runConfig(base);
    const cases: [Partial<RunConfig>, RegExp][] = [
      [{ learningRate: 0 }, /^E301 learningRate is 0/],
      [{ learningRate: NaN }, /^E301 learningRate is NaN/],
      [{ betas: [0.9, 1] }, /^E301 betas is \[0\.9,1\]/],
      [{ microBatchSize: 2.5 }, /^E301 microBatchSize is 2\.5/],
      [{ gradientAccumulationSteps: 0 }, /^E301 gradientAccumulationSteps/],
      [{ warmupRatio: 1.5 }, /^E301 warmupRatio/],
      [{ schedule: 'step' as RunConfig['schedule'] }, /^E301 schedule is "step"/],
      [{ maxGradNorm: -1 }, /^E301 maxGradNorm/],
      [{ validationFraction: 1 }, /^E301 validationFraction/],
      [{ seed: -1 }, /^E301 seed/],
      [{ seed: 2 ** 32 }, /^E301 seed/],
      [{ maxSteps: 0 }, /^E301 maxSteps/],
      [{ evalEvery: null, earlyStoppingPatience: 3 }, /^E301 earlyStoppingPatience/],
      [{ baseModel: { id: '', revision: null } }, /^E301 baseModel\.id/],
    ];
    for (const [override, message] of cases) {
      const issues = runConfigIssues({ ...good, ...override });
      expect(issues.length, JSON.stringify(override)).toBe(1);
      expect(issues[0]!.message).toMatch(message);
      expect(() => validateRunConfig({ ...good, ...override })).toThrow(message);
    }
  });

  it('shadow configuration problems surface with their own E2xx codes', () => {
    const c = runConfig(base);
    const issues = runConfigIssues({ ...c, shadow: { ...c.shadow, gate_hidden_size: 1, dropout: 1 } });
    expect(issues.map((e) => e.code).sort()).toEqual(['E204', 'E208']);
    expect(issues.every((e) => isStudioError(e))).toBe(true);
  });
});
