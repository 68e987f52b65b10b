import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import { loadCausalLM } from '../model/load';
import { fixtureSource } from '../model/testing/fixtures';
import { shadowConfig } from './config';
import { logitLens } from './logitLens';
import { ShadowPeftModel } from './shadowModel';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('logit lens', () => {
  it('with a fresh adapter (identity) the base stream reads the same with the adapter on and off', async () => {
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const model = await ShadowPeftModel.create(base, shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3 }), 2);
    const lens = await logitLens(model, [5, 9, 11, 3], 2, 3);
    expect(lens.layers.length).toBe(2);
    for (const l of lens.layers) {
      expect(l.baseOn).toEqual(l.baseOff);
      for (const list of [l.baseOn, l.shadow]) {
        expect(list.length).toBe(3);
        expect(list[0]!.prob).toBeGreaterThanOrEqual(list[1]!.prob);
        expect(list.every((e) => e.prob > 0 && e.prob <= 1 && e.id >= 0 && e.id < 96)).toBe(true);
      }
    }
  });
});
