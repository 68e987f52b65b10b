import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { expectClose } from '../engine/testing/expectClose';
import { testGpu } from '../engine/testing/testGpu';
import type { Stepper } from './generate';
import { cachedStepper, generate, uncachedStepper } from './generate';
import { loadCausalLM } from './load';
import { fixtureSource, loadGolden } from './testing/fixtures';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

describe.each(['qwen3-tiny', 'qwen2-tiny', 'llama-tiny'])('%s generation', (name) => {
  it('greedy tokens equal the PyTorch reference, cached and uncached, with matching step logits', async () => {
    const model = await loadCausalLM(gpu, fixtureSource(name));
    const g = loadGolden(name);
    const prompt = g.json.prompt as number[];
    const want = g.json.greedy as number[];
    const stepLogits = g.tensors.get('greedy_step_logits')!;
    const V = model.config.vocabSize;
    for (const stepper of [await cachedStepper(model, 32), await uncachedStepper(model, 32)] as Stepper[]) {
      const seen: Float32Array[] = [];
      const wrapped: Stepper = { ...stepper, step: async (t) => { const l = await stepper.step(t); seen.push(l); return l; }, reset: () => stepper.reset() };
      const r = await generate(wrapped, prompt, { maxNewTokens: want.length });
      expect(r.tokens).toEqual(want);
      expect(r.stoppedBy).toBe('max-tokens');
      // f32 decoding vs the f64 reference: ~1e-6 in practice; the argmax gaps are ≥ 0.05 by construction.
      seen.forEach((l, i) => expectClose(l, stepLogits.subarray(i * V, (i + 1) * V), { atol: 1e-4, rtol: 1e-4 }, `${name} ${stepper.cached ? 'cached' : 'uncached'} step ${i}`));
    }
  });
});

describe('sampling, stopping and streaming', () => {
  it('seeded sampling is reproducible and identical with and without the cache; eos and stop strings end it', async () => {
    const model = await loadCausalLM(gpu, fixtureSource('llama-tiny'));
    const cached = await cachedStepper(model, 48);
    const uncached = await uncachedStepper(model, 48);
    const opts = { maxNewTokens: 12, temperature: 0.9, topK: 20, topP: 0.9, repetitionPenalty: 1.3, seed: 7 };
    const streamed: number[] = [];
    const a = await generate(cached, [5, 9, 11], { ...opts, onToken: (id) => streamed.push(id) });
    const b = await generate(uncached, [5, 9, 11], opts);
    const c = await generate(cached, [5, 9, 11], opts);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).toEqual(c.tokens);
    expect(streamed).toEqual(a.tokens);
    expect(a.tokens.length).toBe(12);
    const stopAt = a.tokens[3]!;
    const eos = await generate(cached, [5, 9, 11], { ...opts, stopTokenIds: [stopAt] });
    expect(eos.stoppedBy).toBe('eos');
    expect(eos.tokens).toEqual(a.tokens.slice(0, a.tokens.indexOf(stopAt)));
    const decode = (ids: readonly number[]) => ids.map((i) => `<${i}>`).join('');
    const ss = await generate(cached, [5, 9, 11], { ...opts, decode, stopStrings: [`<${a.tokens[2]}>`] });
    expect(ss.stoppedBy).toBe('stop-string');
    expect(ss.tokens.length).toBeLessThanOrEqual(3);
  });
});
