import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { expectClose } from '../engine/testing/expectClose';
import { testGpu } from '../engine/testing/testGpu';
import type { Stepper } from '../model/generate';
import { cachedStepper, generate } from '../model/generate';
import { loadCausalLM } from '../model/load';
import { fixtureSource, loadGolden } from '../model/testing/fixtures';
import { loadAdapter } from './adapterIO';
import type { ShadowMode } from './generate';
import { shadowCachedStepper, shadowUncachedStepper } from './generate';
import { fixtureAdapterFiles, fixtureExplicitShadow } from './testing/fixtureAdapter';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

async function fixtureAdapter(name: string) {
  const base = await loadCausalLM(gpu, fixtureSource(loadGolden(name).json.base_model as string));
  return { base, ...(await loadAdapter(base, fixtureAdapterFiles(name), { explicit: await fixtureExplicitShadow(name) })) };
}

/** Records the logits of every step a stepper returns. */
function recording(stepper: Stepper, into: Float32Array[]): Stepper {
  return { ...stepper, reset: () => stepper.reset(), step: async (t) => { const l = await stepper.step(t); into.push(l); return l; } };
}

describe.each(['shadow-qwen3-tiny-ns2', 'shadow-llama-tiny', 'shadow-qwen3-tiny-explicit', 'shadow-qwen3-tiny-explicit-shared'])('%s: KV-cached ShadowPEFT decoding', (name) => {
  it.each(['base_shadow', 'shadow_only'] as ShadowMode[])('%s: cached and uncached give identical tokens and logits within 1e-5', async (mode) => {
    const { model } = await fixtureAdapter(name);
    const cachedLogits: Float32Array[] = [];
    const uncachedLogits: Float32Array[] = [];
    const prompt = [14, 75, 62, 18];
    const a = await generate(recording(await shadowCachedStepper(model, 24, mode), cachedLogits), prompt, { maxNewTokens: 10 });
    const b = await generate(recording(await shadowUncachedStepper(model, 24, mode), uncachedLogits), prompt, { maxNewTokens: 10 });
    expect(a.tokens).toEqual(b.tokens);
    cachedLogits.forEach((l, i) => expectClose(l, uncachedLogits[i]!, { atol: 1e-5, rtol: 1e-5 }, `${mode} step ${i}`));
  });

  it('the adapter attaches and detaches at run time on the same loaded base', async () => {
    const g = loadGolden(name);
    const base = await loadCausalLM(gpu, fixtureSource(g.json.base_model as string));
    const prompt = [14, 75, 62, 18];
    const plain = await generate(await cachedStepper(base, 24), prompt, { maxNewTokens: 8 });
    const { model } = await loadAdapter(base, fixtureAdapterFiles(name), { explicit: await fixtureExplicitShadow(name) });
    const withShadow = await generate(await shadowCachedStepper(model, 24, 'base_shadow'), prompt, { maxNewTokens: 8 });
    const detachedAgain = await generate(await cachedStepper(base, 24), prompt, { maxNewTokens: 8 });
    expect(detachedAgain.tokens).toEqual(plain.tokens);
    expect(withShadow.tokens.length).toBe(8);
  });
});

describe('shadow_only logits', () => {
  it.each(['shadow-qwen3-tiny', 'shadow-qwen3-tiny-explicit'])('%s: the detached shadow equals the fixture shadow_only_logits', async (name) => {
    const g = loadGolden(name);
    const { base, model } = await fixtureAdapter(name);
    const ids = Array.from(g.tensors.get('input_ids')!.subarray(0, 7));
    const logits: Float32Array[] = [];
    const stepper = recording(await shadowUncachedStepper(model, 8, 'shadow_only'), logits);
    await stepper.step(ids);
    const V = base.config.vocabSize;
    expectClose(logits[0]!, g.tensors.get('shadow_only_logits')!.subarray(6 * V, 7 * V), { atol: 1e-4, rtol: 1e-4 }, 'shadow_only last row');
  });
});
