import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import { makeBatch } from '../model/batch';
import { loadCausalLM } from '../model/load';
import { fixtureSource } from '../model/testing/fixtures';
import { shadowConfig } from './config';
import { loadPretrainedShadow, readExplicitShadow } from './explicitShadow';
import { ShadowOptimizer } from './optimizer';
import { ShadowPeftModel } from './shadowModel';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const config = shadowConfig({ num_shadow_layers: 1, shadow_intermediate_size: 24, shadow_num_attention_heads: 2, shadow_num_key_value_heads: 1, injection_hidden_size: 4, gate_hidden_size: 3, dropout: 0.2 });

describe('ShadowPEFT on the engine', () => {
  it.each(['qwen3-tiny', 'llama-tiny', 'qwen2-tiny'])('%s: a fresh adapter reproduces the base logits exactly', async (name) => {
    const base = await loadCausalLM(gpu, fixtureSource(name));
    const shadow = await ShadowPeftModel.create(base, config, 3);
    const batch = makeBatch([[5, 9, 11, 3, 7, 2], [8, 1, 4]]);
    const N = batch.B * batch.T;
    const V = base.config.vocabSize;
    const bws = await base.createWorkspace(batch.B, batch.T, false);
    base.forward(bws, batch);
    const baseLogits = await gpu.createTensor('base.logits', [N, V]);
    base.logits(bws.h, baseLogits, N);
    const sws = await shadow.createWorkspace(batch.B, batch.T);
    shadow.forward(sws, batch, { seed: 1, step: 1 }); // dropout on: Wup = 0 still makes every injection zero
    const shadowLogits = await gpu.createTensor('shadow.logits', [N, V]);
    base.logits(sws.base.h, shadowLogits, N);
    expect(Array.from(await gpu.read(shadowLogits))).toEqual(Array.from(await gpu.read(baseLogits)));
  });

  it.each([
    ['the implicit shadow of llama-tiny', 'llama-tiny', null],
    // docs/shadowpeft.md §6: a pretrained Llama 36 wide (own embeddings, projection to 40) as the shadow of Qwen3
    ['the pretrained explicit-llama-w36 as the shadow of qwen3-tiny', 'qwen3-tiny', 'explicit-llama-w36'],
  ])('%s: seeded, deterministic training on a fixed synthetic task halves the loss', async (_, baseName, explicitName) => {
    const base = await loadCausalLM(gpu, fixtureSource(baseName));
    const explicit = explicitName ? await readExplicitShadow(fixtureSource(explicitName)) : null;
    const shadow = await ShadowPeftModel.create(base, { ...config, dropout: 0 }, 11, explicit);
    if (explicitName) await loadPretrainedShadow(shadow, fixtureSource(explicitName));
    const opt = await ShadowOptimizer.create(shadow);
    // The task: always continue 7 → 8 → 9 → 10 …, a pattern the random base does not know.
    const seqs = [[7, 8, 9, 10, 11, 12, 13, 14], [20, 21, 22, 23, 24, 25, 26, 27]];
    const batch = makeBatch(seqs);
    const labels = Array.from(batch.inputIds);
    const ws = await shadow.createWorkspace(batch.B, batch.T);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      shadow.zeroGrads();
      const l = await shadow.forwardBackward(ws, batch, labels, 0.05, null, { readLosses: true });
      losses.push(l!.loss);
      const r = await opt.apply({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, 1.0);
      expect(r.skipped).toBe(false);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 2);
  });
});
