import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { expectClose, relativeL2 } from '../engine/testing/expectClose';
import { testGpu } from '../engine/testing/testGpu';
import type { TokenBatch } from './batch';
import type { CausalLM } from './causalLM';
import { loadCausalLM } from './load';
import { LossHead, shiftLabels } from './lossHead';
import { fixtureSource, loadGolden } from './testing/fixtures';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

function goldenBatch(g: ReturnType<typeof loadGolden>): TokenBatch {
  const [B, T] = g.shapes.get('input_ids')! as [number, number];
  const u32 = (name: string) => Uint32Array.from(g.tensors.get(name)!);
  return { B, T, inputIds: u32('input_ids'), attentionMask: u32('attention_mask'), positionIds: u32('position_ids') };
}

/** Rows of padding are excluded from comparisons: their values are not defined by the model. */
function realRows(values: Float32Array, mask: Uint32Array, width: number): Float32Array {
  const out: number[] = [];
  mask.forEach((m, r) => {
    if (m) for (let j = 0; j < width; j++) out.push(values[r * width + j]!);
  });
  return Float32Array.from(out);
}

// f32 forward through 2–3 tiny layers: PyTorch (f64 golden) and our f32 kernels agree to ~1e-6;
// the issue asks for about 1e-4 on logits.
const LOGITS_TOL = { atol: 1e-4, rtol: 1e-4 };

async function forwardAndCompare(name: string, model: CausalLM) {
  const g = loadGolden(name);
  const batch = goldenBatch(g);
  const { B, T } = batch;
  const N = B * T;
  const C = model.config.hiddenSize;
  const V = model.config.vocabSize;
  const ws = await model.createWorkspace(B, T, true);
  model.forward(ws, batch);
  const logits = await model.gpu.createTensor('logits', [N, V]);
  model.logits(ws.h, logits, N);
  const mask = batch.attentionMask;
  expectClose(realRows(await model.gpu.read(logits), mask, V), realRows(g.tensors.get('logits')!, mask, V), LOGITS_TOL, `${name} logits`);
  for (let l = 0; l <= model.config.numLayers; l++) {
    expectClose(realRows(await model.gpu.read(ws.residuals![l]!), mask, C), realRows(g.tensors.get(`hidden_states.${l}`)!, mask, C), LOGITS_TOL, `${name} hidden_states.${l}`);
  }
  expectClose(realRows(await model.gpu.read(ws.h), mask, C), realRows(g.tensors.get('final_norm')!, mask, C), LOGITS_TOL, `${name} final_norm`);
  return { g, batch, ws, logits };
}

describe.each(['qwen3-tiny', 'qwen2-tiny', 'llama-tiny'])('%s against the PyTorch fixture', (name) => {
  it('logits and every layer\'s hidden states (f32 weights)', async () => {
    const model = await loadCausalLM(gpu, fixtureSource(name));
    expect(model.weights.storage).toBe('f32');
    await forwardAndCompare(name, model);
  });

  it('bf16 checkpoint: stored packed, matches the golden of bf16-rounded weights', async () => {
    const model = await loadCausalLM(gpu, fixtureSource(`${name}-bf16`));
    expect(model.weights.storage).toBe('bf16x2');
    await forwardAndCompare(`${name}-bf16`, model);
  });
});

describe('sharded checkpoints', () => {
  it('qwen2-tiny from two shards equals the single-file load', async () => {
    const sharded = await loadCausalLM(gpu, fixtureSource('qwen2-tiny-sharded'));
    const { logits } = await forwardAndCompare('qwen2-tiny', sharded);
    const single = await loadCausalLM(gpu, fixtureSource('qwen2-tiny'));
    const second = await forwardAndCompare('qwen2-tiny', single);
    expect(Array.from(await gpu.read(logits))).toEqual(Array.from(await gpu.read(second.logits)));
  });
});

describe('backward through the frozen model', () => {
  // Gradients pass back through 2–3 layers of f32 kernels; per-tensor relative L2 error ≤ 1e-4.
  it.each(['qwen3-tiny', 'qwen2-tiny', 'llama-tiny'])('%s: loss and dL/d(input embeddings) match PyTorch', async (name) => {
    const model = await loadCausalLM(gpu, fixtureSource(name));
    const g = loadGolden(name);
    const batch = goldenBatch(g);
    const { B, T } = batch;
    const N = B * T;
    const ws = await model.createWorkspace(B, T, true);
    const inp = model.forward(ws, batch);
    const head = await LossHead.create(gpu, N, model.config.hiddenSize, model.config.vocabSize);
    const dh = await gpu.createTensor('dh', [N, model.config.hiddenSize]);
    head.run(ws.h, model.head, shiftLabels(g.tensors.get('labels')!, B, T), { dh });
    const loss = (await gpu.read(head.loss))[0]!;
    expect(Math.abs(loss - g.tensors.get('loss')![0]!)).toBeLessThan(1e-5 * Math.abs(loss) + 1e-6);
    const dEmb = await gpu.read(model.backwardToEmbeddings(ws, inp, dh));
    const want = g.tensors.get('grad_inputs_embeds')!;
    const err = relativeL2(dEmb, want);
    if (!(err <= 1e-4)) throw new Error(`${name}: relative L2 error of dL/d(embeddings) ${err.toExponential(3)} > 1e-4`);
  });
});

describe('weights larger than one storage binding', () => {
  it('the embedding and head are split by rows; logits, loss and dL/d(embeddings) are unchanged', async () => {
    // The same device, told that a binding holds 12 KiB: qwen3-tiny's (96, 40) f32 embedding and
    // head (15 KiB each) must be split, every other weight still fits.
    const { Gpu } = await import('../engine/runtime');
    const small = new Gpu(gpu.device, { ...gpu.caps, limits: { ...gpu.caps.limits, maxStorageBufferBindingSize: 12 * 1024 } });
    const model = await loadCausalLM(small, fixtureSource('qwen3-tiny'));
    expect(model.weights.split.get('model.embed_tokens.weight')!.length).toBe(2);
    expect(model.weights.split.get('lm_head.weight')!.map((p) => p.rows)).toEqual([76, 20]);
    const { g, batch, ws } = await forwardAndCompare('qwen3-tiny', model);
    const N = batch.B * batch.T;
    const head = await LossHead.create(small, N, model.config.hiddenSize, model.config.vocabSize);
    const dh = await small.createTensor('dh', [N, model.config.hiddenSize]);
    head.run(ws.h, model.head, shiftLabels(g.tensors.get('labels')!, batch.B, batch.T), { dh });
    expect(Math.abs((await small.read(head.loss))[0]! - g.tensors.get('loss')![0]!)).toBeLessThan(1e-5);
    const inp = model.prepareBatch(ws, batch);
    const err = relativeL2(await small.read(model.backwardToEmbeddings(ws, inp, dh)), g.tensors.get('grad_inputs_embeds')!);
    expect(err).toBeLessThan(1e-4);
  });
});
