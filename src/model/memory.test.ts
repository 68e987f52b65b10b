import { beforeAll, describe, expect, it } from 'vitest';
import { alignUp } from '../engine/arena';
import { isStudioError } from '../engine/errors';
import { crossEntropyScratchBytes } from '../engine/kernels/crossentropy/crossentropy';
import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import { tensorBytes } from '../engine/tensor';
import { testGpu } from '../engine/testing/testGpu';
import { parameterCount } from './config';
import type { ModelConfig } from './config';
import { modelConfigFromHf } from './families/registry';
import { loadCausalLM, readModelConfig } from './load';
import { LossHead } from './lossHead';
import type { MemoryBudget, MemoryCaps, MemoryPlan } from './memory';
import { checkFits, checkModelLoadable, estimateFits, estimateMemory, fitSuggestion, lossHeadSizes } from './memory';
import { QWEN3_0_6B } from './testing/hubConfigs';
import { fixtureSource } from './testing/fixtures';

const GiB = 2 ** 30;
/** A desktop GPU as Chrome exposes it when the adapter's limits are requested. */
const DESKTOP: MemoryCaps = {
  limits: { maxStorageBufferBindingSize: 2 * GiB - 4, maxBufferSize: 4 * GiB, minStorageBufferOffsetAlignment: 256 },
  features: { shaderF16: true },
};
const qwen3 = modelConfigFromHf(QWEN3_0_6B);
const PARAMS = 596_049_920;

/** Catches the coded error of checkFits and returns its message. */
function refusal(config: ModelConfig, caps: MemoryCaps, plan: MemoryPlan, budget: MemoryBudget): string {
  const est = estimateMemory(config, caps, plan);
  try {
    checkFits(est, caps, config, plan.B, plan.T, budget);
  } catch (e) {
    if (isStudioError(e, 'E124')) return e.message;
    throw e;
  }
  throw new Error(`checkFits accepted B=${plan.B}, T=${plan.T} (total ${est.total}, largest ${est.largestTensor.bytes})`);
}

function suggested(message: string, re: RegExp): number {
  const m = re.exec(message);
  if (!m) throw new Error(`no ${re} in: ${message}`);
  return Number(m[1]);
}

describe('Qwen3-0.6B (real config)', () => {
  it('weights in bf16 storage: exact bytes from the size table, ≈ 2 bytes per parameter', () => {
    expect(parameterCount(qwen3)).toBe(PARAMS);
    const est = estimateMemory(qwen3, DESKTOP, { B: 1, T: 1, training: false });
    expect(est.storage).toBe('bf16x2');
    // By hand: 1-D weights stay f32 — per layer 2 norms of C=1024 and 2 head norms of HS=128 (2304
    // values), plus the final norm (1024): 28·2304 + 1024 = 65,536 values. Every tensor's bytes is a
    // multiple of 256, so there is no padding: 2·(596,049,920 − 65,536) + 4·65,536 = 1,192,230,912.
    expect(est.weights).toBe(1_192_230_912);
    expect(Math.abs(est.weights - 2 * PARAMS) / (2 * PARAMS)).toBeLessThan(0.01);
    // The tied embedding (151936×1024, 297 MiB in bf16) is split by rows when a binding cannot hold
    // it, so it never limits; the largest unsplittable tensor is an MLP matrix (3072×1024 bf16).
    expect(est.largestTensor.bytes).toBe(3072 * 1024 * 2);
    expect(est.largestTensor.name).toMatch(/mlp\.(gate|up|down)_proj\.weight$/);
  });

  it('storage choices: f32 is 4 bytes per parameter; f16 checkpoints without shader-f16 pack as f16x2', () => {
    expect(estimateMemory(qwen3, DESKTOP, { B: 1, T: 1, training: false, storage: 'f32' }).weights).toBe(4 * PARAMS);
    const noF16: MemoryCaps = { ...DESKTOP, features: { shaderF16: false } };
    const f16 = estimateMemory(qwen3, noF16, { B: 1, T: 1, training: false, checkpointDtype: 'F16' });
    expect(f16.storage).toBe('f16x2');
    expect(f16.weights).toBe(1_192_230_912);
  });

  it('KV cache is 2·L·B·maxT·NKV·HS·4 bytes, only when generating', () => {
    const gen = estimateMemory(qwen3, DESKTOP, { B: 2, T: 16, training: false, maxT: 1000 });
    expect(gen.kvCache).toBe(2 * 28 * 2 * 1000 * 8 * 128 * 4);
    expect(estimateMemory(qwen3, DESKTOP, { B: 2, T: 16, training: false }).kvCache).toBe(0);
    expect(gen.total).toBe(gen.weights + gen.activations + gen.kvCache + gen.lossHead);
  });

  it('training adds the residual stream and the loss head; the loss head holds one chunk of logits', () => {
    const B = 2;
    const T = 512;
    const N = B * T;
    const infer = estimateMemory(qwen3, DESKTOP, { B, T, training: false });
    const train = estimateMemory(qwen3, DESKTOP, { B, T, training: true });
    expect(infer.lossHead).toBe(0);
    // The (L+1) residual tensors (N, C) f32 alone; the backward workspace comes on top.
    expect(train.activations - infer.activations).toBeGreaterThan(29 * N * 1024 * 4);
    const chunkRows = lossHeadSizes(qwen3, N, DESKTOP, true)[0]!.shape[0]!;
    // 64 MiB budget / ((V + C)·4 bytes per row) = 109 rows, well below N.
    expect(chunkRows).toBe(Math.floor(64 * 2 ** 20 / ((151936 + 1024) * 4)));
    const scratch = crossEntropyScratchBytes(chunkRows, 1024, 151936);
    // scratch + targets, per-row losses, the loss and dh (N, C); each rounded up to 256 bytes.
    const rest = N * 4 + N * 4 + 4 + N * 1024 * 4;
    expect(train.lossHead).toBeGreaterThanOrEqual(scratch + rest);
    expect(train.lossHead).toBeLessThanOrEqual(scratch + rest + 6 * 256);
  });
});

describe('checkFits', () => {
  it('accepts a plan that fits and refuses one over the budget, naming a T and a B that really fit', () => {
    const budget = { deviceMemoryBytes: 4 * GiB };
    const small: MemoryPlan = { B: 1, T: 256, training: true };
    checkFits(estimateMemory(qwen3, DESKTOP, small), DESKTOP, qwen3, 1, 256, budget);

    const plan: MemoryPlan = { B: 4, T: 4096, training: true };
    const msg = refusal(qwen3, DESKTOP, plan, budget);
    expect(msg).toMatch(/^E124 training qwen3 \(28 layers\) at B=4, T=4096 needs .* budget \(80% of 4\.00 GiB\)/);
    const T = suggested(msg, /T ≤ (\d+) fits at B=4/);
    expect(T).toBeGreaterThan(1);
    expect(T).toBeLessThan(4096);
    expect(estimateFits(estimateMemory(qwen3, DESKTOP, { ...plan, T }), DESKTOP, budget)).toBe(true);
    expect(estimateFits(estimateMemory(qwen3, DESKTOP, { ...plan, T: T + 1 }), DESKTOP, budget)).toBe(false);
    const B = suggested(msg, /B ≤ (\d+) fits at T=4096/);
    expect(estimateFits(estimateMemory(qwen3, DESKTOP, { ...plan, B }), DESKTOP, budget)).toBe(true);
    expect(estimateFits(estimateMemory(qwen3, DESKTOP, { ...plan, B: B + 1 }), DESKTOP, budget)).toBe(false);
    expect(fitSuggestion(qwen3, DESKTOP, plan, budget)).toEqual({ maxT: T, maxB: B, maxTAtB1: null });
  });

  it('names the B that fits when a smaller batch suffices', () => {
    const budget = { deviceMemoryBytes: 4 * GiB };
    const plan: MemoryPlan = { B: 16, T: 512, training: true };
    const msg = refusal(qwen3, DESKTOP, plan, budget);
    const B = suggested(msg, /B ≤ (\d+) fits at T=512/);
    expect(estimateFits(estimateMemory(qwen3, DESKTOP, { ...plan, B }), DESKTOP, budget)).toBe(true);
    expect(estimateFits(estimateMemory(qwen3, DESKTOP, { ...plan, B: B + 1 }), DESKTOP, budget)).toBe(false);
  });

  it('refuses a tensor larger than one binding on a tiny fake limit, without a total budget', () => {
    // 400 MB per binding: the bf16 embedding (311 MB) fits, gate (N, I) f32 at N = 8·4096 (403 MB) does not.
    const caps: MemoryCaps = { ...DESKTOP, limits: { ...DESKTOP.limits, maxStorageBufferBindingSize: 400_000_000 } };
    const plan: MemoryPlan = { B: 8, T: 4096, training: false };
    const msg = refusal(qwen3, caps, plan, {});
    expect(msg).toContain("largest tensor 'layer.gate' needs 384.0 MiB");
    const T = suggested(msg, /T ≤ (\d+) fits at B=8/);
    expect(T).toBe(Math.floor(400_000_000 / (8 * 3072 * 4))); // the largest N·I·4 under the limit
    expect(estimateFits(estimateMemory(qwen3, caps, { ...plan, T }), caps)).toBe(true);
  });

  it('WebGPU\'s default 128 MiB binding is enough: the 297 MiB embedding is split by rows', () => {
    const caps: MemoryCaps = { ...DESKTOP, limits: { ...DESKTOP.limits, maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 } };
    expect(estimateFits(estimateMemory(qwen3, caps, { B: 1, T: 8, training: false }), caps)).toBe(true);
  });

  it('says nothing fits when a weight that cannot be split exceeds one binding', () => {
    // 4 MiB bindings cannot hold a 6 MiB MLP matrix, whatever B and T.
    const caps: MemoryCaps = { ...DESKTOP, limits: { ...DESKTOP.limits, maxStorageBufferBindingSize: 4 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 } };
    const msg = refusal(qwen3, caps, { B: 1, T: 8, training: false }, {});
    expect(msg).toMatch(/'model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight'/);
    expect(msg).toContain('nothing fits');
    expect(msg).toContain('pick a smaller model');
  });

  it('generation: the suggested prompt length keeps the number of new tokens', () => {
    // The 2048 new tokens of 8 sequences alone take 3.5 GiB of KV cache.
    const budget = { deviceMemoryBytes: 8 * GiB };
    const plan: MemoryPlan = { B: 8, T: 2048, training: false, maxT: 4096 };
    const msg = refusal(qwen3, DESKTOP, plan, budget);
    expect(msg).toContain('KV cache of 4096 tokens');
    const T = suggested(msg, /T ≤ (\d+) fits at B=8/);
    const fits = (t: number) => estimateFits(estimateMemory(qwen3, DESKTOP, { ...plan, T: t, maxT: t + 2048 }), DESKTOP, budget);
    expect(fits(T)).toBe(true);
    expect(fits(T + 1)).toBe(false);
  });
});

describe('the estimate matches what the allocators allocate (tiny fixtures on the GPU)', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it.each(['qwen3-tiny', 'qwen2-tiny-bf16', 'llama-tiny'])('%s: weights, workspace and loss head', async (name) => {
    const source = fixtureSource(name);
    const config = await readModelConfig(source);
    const model = await loadCausalLM(gpu, source);
    const caps = gpu.caps;
    const align = caps.limits.minStorageBufferOffsetAlignment;
    const [B, T] = [3, 5];
    const est = estimateMemory(config, caps, { B, T, training: true });
    expect(est.storage).toBe(model.weights.storage);
    expect(est.weights).toBe(model.weights.bytes);

    const ws = await model.createWorkspace(B, T, true);
    const tensors: Tensor[] = [model.invFreq, ...Object.values(ws.layer), ...Object.values(ws.batch), ws.x, ws.h, ws.dx!, ...ws.residuals!, ws.normScratch!, ws.frozenDw!].filter((t): t is Tensor => typeof t === 'object' && t !== null && 'buffer' in t);
    expect(est.activations).toBe(tensors.reduce((s, t) => s + alignUp(tensorBytes(t), align), 0));

    const head = await LossHead.create(gpu, B * T, config.hiddenSize, config.vocabSize);
    expect(lossHeadSizes(config, B * T, caps, true)[0]!.shape).toEqual([head.chunkRows, config.vocabSize]);
  });
});

describe('checkModelLoadable (before the first buffer of a load)', () => {
  const refusedAt = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (isStudioError(e, 'E124')) return e.message;
      throw e;
    }
    throw new Error('accepted');
  };
  it('Qwen3-0.6B passes a desktop GPU; the estimate is returned', () => {
    expect(checkModelLoadable(qwen3, DESKTOP, { id: 'Qwen/Qwen3-0.6B' }).weights).toBeGreaterThan(PARAMS);
  });
  it('a budget (given, or the caps memoryBytes of a software adapter) refuses with the estimate in the message', () => {
    const msg = refusedAt(() => checkModelLoadable(qwen3, { ...DESKTOP, memoryBytes: 1 * GiB }, { id: 'Qwen/Qwen3-0.6B' }));
    expect(msg).toMatch(/^E124 Qwen\/Qwen3-0\.6B: a qwen3 model of 28 layers, hidden 1024, MLP 3072, vocabulary 151936 is estimated at [\d.]+ GiB \(weights [\d.]+ GiB in bf16x2, activations [\d.]+ \w+\), more than the 819\.\d MiB budget \(80% of 1\.00 GiB\)/);
    expect(refusedAt(() => checkModelLoadable(qwen3, DESKTOP, { id: 'q', budget: { deviceMemoryBytes: 0.5 * GiB, fraction: 0.5 } }))).toContain('more than the 256.0 MiB budget (50% of 512.0 MiB)');
  });
  it('a tensor larger than one binding, and a model above MAX_MODEL_BYTES, are refused whatever the budget', () => {
    const wide = modelConfigFromHf({ ...QWEN3_0_6B, hidden_size: 65536, intermediate_size: 262144 });
    expect(refusedAt(() => checkModelLoadable(wide, DESKTOP, { id: 'w' }))).toMatch(/largest tensor 'model\.layers\.0\.mlp\.\w+_proj\.weight' needs 32\.00 GiB, more than one storage binding/);
    const tables = modelConfigFromHf({ ...QWEN3_0_6B, hidden_size: 65536, intermediate_size: 2, num_attention_heads: 1, num_key_value_heads: 1, head_dim: 2, vocab_size: 1_048_576, tie_word_embeddings: false });
    expect(refusedAt(() => checkModelLoadable(tables, DESKTOP, { id: 't', budget: { deviceMemoryBytes: 2 ** 50 } }))).toMatch(/estimated at [\d.]+ (GiB|TiB).*more than the 256\.00 GiB any WebGPU device lends/);
  });
});
