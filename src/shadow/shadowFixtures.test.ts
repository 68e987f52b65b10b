import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { expectClose, relativeL2 } from '../engine/testing/expectClose';
import { testGpu } from '../engine/testing/testGpu';
import type { TokenBatch } from '../model/batch';
import { loadCausalLM } from '../model/load';
import { fixtureSource, loadGolden } from '../model/testing/fixtures';
import { loadAdapter, readAdapterLayout, saveAdapter } from './adapterIO';
import { loadPretrainedShadow, readExplicitShadow } from './explicitShadow';
import { ShadowPeftModel } from './shadowModel';
import { fixtureAdapterFiles, fixtureExplicitShadow } from './testing/fixtureAdapter';
import { shadowConfig } from './config';
import { parseShadowConfigJson } from './configJson';
import { makeBatch } from '../model/batch';
import { ShadowOptimizer } from './optimizer';

let defaultGpu: Gpu;
let gpu: Gpu;
beforeAll(async () => {
  gpu = defaultGpu = await testGpu();
});

interface ShadowGoldenJson {
  base_model: string;
  explicit_shadow: { model: string; own_embeddings: boolean; hidden_size: number } | null;
  adamw_losses: number[];
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; max_grad_norm: number };
  shadow_loss_weight: number;
}

const files = fixtureAdapterFiles;

function batchOf(g: ReturnType<typeof loadGolden>): { batch: TokenBatch; labels: Float32Array } {
  const [B, T] = g.shapes.get('input_ids') as [number, number];
  const u32 = (n: string) => Uint32Array.from(g.tensors.get(n)!);
  return { batch: { B, T, inputIds: u32('input_ids'), attentionMask: u32('attention_mask'), positionIds: u32('position_ids') }, labels: g.tensors.get('labels')! };
}

function realRows(values: Float32Array, mask: Uint32Array, width: number): Float32Array {
  const out: number[] = [];
  mask.forEach((m, r) => m && out.push(...values.subarray(r * width, (r + 1) * width)));
  return Float32Array.from(out);
}


/** The same device, told that one binding holds 12 KiB: large tables must be split by rows. */
async function smallBindingGpu(): Promise<Gpu> {
  const { Gpu } = await import('../engine/runtime');
  return new Gpu(gpu.device, { ...gpu.caps, limits: { ...gpu.caps.limits, maxStorageBufferBindingSize: 12 * 1024 } });
}

const FIXTURE_CASES: [name: string, device: 'default' | 'small-binding'][] = [
  ['shadow-qwen3-tiny', 'default'],
  ['shadow-qwen3-tiny-ns2', 'default'],
  ['shadow-llama-tiny', 'default'],
  // An explicit Llama shadow 36 wide (own embeddings, projection (40, 36)) of the Qwen3 base …
  ['shadow-qwen3-tiny-explicit', 'default'],
  // … again with its (96, 36) embedding table (and its gradient and Adam moments) split by rows.
  ['shadow-qwen3-tiny-explicit', 'small-binding'],
  // An explicit Qwen2 shadow of the base width, fed the base embeddings (no projection).
  ['shadow-qwen3-tiny-explicit-shared', 'default'],
];

describe.each(FIXTURE_CASES)('%s (%s device) against the PyTorch re-statement', (name, device) => {
  it('logits, shadow logits, losses and the gradient of every adapter tensor; then 5 AdamW steps', async () => {
    const g = loadGolden(name);
    const gj = g.json as unknown as ShadowGoldenJson;
    const gpu = device === 'small-binding' ? await smallBindingGpu() : defaultGpu;
    const base = await loadCausalLM(gpu, fixtureSource(gj.base_model));
    const { model } = await loadAdapter(base, files(name), { explicit: await fixtureExplicitShadow(name) });
    if (device === 'small-binding') expect(model.params.embed!.map((p) => p.rows)).toEqual([85, 11]);
    const { batch, labels } = batchOf(g);
    const N = batch.B * batch.T;
    const V = base.config.vocabSize;
    const ws = await model.createWorkspace(batch.B, batch.T);
    model.zeroGrads();
    const losses = (await model.forwardBackward(ws, batch, labels, gj.shadow_loss_weight, null, { readLosses: true }))!;
    // f32 kernels vs the f64 reference through 2–3 layers: ~1e-6 in practice.
    expect(Math.abs(losses.baseLoss - g.tensors.get('base_loss')![0]!)).toBeLessThan(1e-4);
    expect(Math.abs(losses.shadowLoss - g.tensors.get('shadow_loss')![0]!)).toBeLessThan(1e-4);
    expect(Math.abs(losses.loss - g.tensors.get('loss')![0]!)).toBeLessThan(1e-4);
    const logits = await gpu.createTensor('logits', [N, V]);
    base.logits(ws.base.h, logits, N);
    expectClose(realRows(await gpu.read(logits), batch.attentionMask, V), realRows(g.tensors.get('logits')!, batch.attentionMask, V), { atol: 1e-4, rtol: 1e-4 }, `${name} logits`);
    base.logits(ws.states[0]!, logits, N);
    expectClose(realRows(await gpu.read(logits), batch.attentionMask, V), realRows(g.tensors.get('shadow_logits')!, batch.attentionMask, V), { atol: 1e-4, rtol: 1e-4 }, `${name} shadow logits`);
    // Gradients: per-tensor relative L2 error ≤ 1e-3 (the criterion); zero where no gradient flows.
    const fileGrads = await readAdapterLayout(model, model.grads);
    for (const [key, got] of fileGrads) {
      const want = g.tensors.get(`grad.${key}`)!;
      expect(want, `golden has grad.${key}`).toBeDefined();
      const wantNorm = Math.hypot(...want);
      if (wantNorm === 0) expect(Math.max(...got.map(Math.abs)), `${key} has no gradient`).toBe(0);
      else {
        const err = relativeL2(got, want);
        if (!(err <= 1e-3)) throw new Error(`${name}: gradient of ${key}: relative L2 error ${err.toExponential(3)} > 1e-3`);
      }
    }
    // Five AdamW steps (lr, betas, eps, decay on ≥2-D tensors only, clipping at the fixture's max norm).
    const opt = await ShadowOptimizer.create(model);
    const seen: number[] = [losses.loss];
    for (let step = 0; step < 5; step++) {
      if (step > 0) {
        model.zeroGrads();
        seen.push((await model.forwardBackward(ws, batch, labels, gj.shadow_loss_weight, null, { readLosses: true }))!.loss);
      }
      await opt.apply({ lr: gj.adamw.lr, beta1: gj.adamw.betas[0], beta2: gj.adamw.betas[1], eps: gj.adamw.eps, weightDecay: gj.adamw.weight_decay }, gj.adamw.max_grad_norm);
    }
    model.zeroGrads();
    seen.push((await model.forwardBackward(ws, batch, labels, gj.shadow_loss_weight, null, { readLosses: true }))!.loss);
    expectClose(seen, gj.adamw_losses, { atol: 2e-4, rtol: 0 }, `${name} AdamW losses`);
  });
});

describe('gradient clipping', () => {
  it('shadow-qwen3-tiny: 5 AdamW steps with clipping at 0.3 (clipping acts on every step) match torch', async () => {
    const name = 'shadow-qwen3-tiny';
    const g = loadGolden(name);
    const gj = g.json as unknown as ShadowGoldenJson & { adamw_clipped: { losses: number[]; grad_norms: number[]; max_grad_norm: number } };
    const base = await loadCausalLM(gpu, fixtureSource(gj.base_model));
    const { model } = await loadAdapter(base, files(name));
    const { batch, labels } = batchOf(g);
    const ws = await model.createWorkspace(batch.B, batch.T);
    const opt = await ShadowOptimizer.create(model);
    const losses: number[] = [];
    const norms: number[] = [];
    for (let step = 0; step <= 5; step++) {
      model.zeroGrads();
      losses.push((await model.forwardBackward(ws, batch, labels, gj.shadow_loss_weight, null, { readLosses: true }))!.loss);
      if (step < 5) norms.push((await opt.apply({ lr: gj.adamw.lr, beta1: gj.adamw.betas[0], beta2: gj.adamw.betas[1], eps: gj.adamw.eps, weightDecay: gj.adamw.weight_decay }, gj.adamw_clipped.max_grad_norm)).gradNorm);
    }
    expectClose(norms, gj.adamw_clipped.grad_norms, { atol: 1e-5, rtol: 1e-4 }, 'pre-clip gradient norms');
    expectClose(losses, gj.adamw_clipped.losses, { atol: 2e-4, rtol: 0 }, 'clipped AdamW losses');
  });
});

describe('adapter files', () => {
  it('round trip: save → load reproduces every tensor; the fresh fixture adapter is the identity', async () => {
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const { model } = await loadAdapter(base, files('shadow-qwen3-tiny'));
    const saved = await saveAdapter(model, { baseModelId: 'qwen3-tiny' });
    expect(saved.configJson).toBe(files('shadow-qwen3-tiny').configJson);
    const again = await loadAdapter(base, saved);
    expect(again.metadata.base_model).toBe('qwen3-tiny');
    for (const s of model.specs) expect(Array.from(await gpu.read(again.model.params.byName.get(s.name)!))).toEqual(Array.from(await gpu.read(model.params.byName.get(s.name)!)));
    const bf16 = await saveAdapter(model, { baseModelId: 'qwen3-tiny', dtype: 'BF16' });
    expect(bf16.safetensors.byteLength).toBeLessThan(saved.safetensors.byteLength);
  });

  it('strict loading names the missing, unexpected or mis-shaped key', async () => {
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const f = files('shadow-qwen3-tiny');
    const wrongConfig = f.configJson.replace('"injection_hidden_size": 4', '"injection_hidden_size": 5');
    await expect(loadAdapter(base, { ...f, configJson: wrongConfig })).rejects.toThrow(/E216 adapter tensor 'shadow_injection_model.injection_downs' has shape \(2, 40, 4\), expected \(2, 40, 5\)/);
    const fewerLayers = f.configJson.replace('"num_shadow_layers": 1', '"num_shadow_layers": 2');
    await expect(loadAdapter(base, { ...f, configJson: fewerLayers })).rejects.toThrow(/E214 adapter tensor 'shadow_model.layers.1.self_attn.q_proj.weight'.* missing/);
  });
});

describe('explicit shadow models (docs/shadowpeft.md §6)', () => {
  const name = 'shadow-qwen3-tiny-explicit';

  it('a fresh adapter takes the pretrained model\'s weights, keeps the base logits exactly, and matches the fixture\'s fresh adapter', async () => {
    const gj = loadGolden(name).json as unknown as ShadowGoldenJson;
    const explicit = (await fixtureExplicitShadow(name))!;
    const base = await loadCausalLM(gpu, fixtureSource(gj.base_model));
    const model = await ShadowPeftModel.create(base, parseShadowConfigJson(files(name).configJson), 7, explicit);
    await loadPretrainedShadow(model, fixtureSource(gj.explicit_shadow!.model));
    const fresh = (await loadAdapter(base, files(name, 'shadow_adapter_fresh.safetensors'), { explicit })).model;
    const mine = await readAdapterLayout(model, model.params);
    const theirs = await readAdapterLayout(fresh, fresh.params);
    // The backbone is the checkpoint's, bit for bit; the rest is §4's (seeded differently) init.
    for (const [key, v] of theirs) if (key.startsWith('shadow_model.')) expect(Array.from(mine.get(key)!), key).toEqual(Array.from(v));
    expect(Math.max(...mine.get('shadow_injection_model.injection_ups')!.map(Math.abs))).toBe(0);
    const bound = 1 / Math.sqrt(36); // nn.Linear(36, 40) default init
    const proj = mine.get('shadow_hidden_projection.weight')!;
    expect(Math.max(...proj.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...proj.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    // Identity at initialisation: Wup = 0, so the base logits come out exactly.
    const { batch } = batchOf(loadGolden(name));
    const ws = await model.createWorkspace(batch.B, batch.T);
    model.forward(ws, batch, null);
    const N = batch.B * batch.T;
    const V = base.config.vocabSize;
    const withShadow = await gpu.createTensor('logits', [N, V]);
    base.logits(ws.base.h, withShadow, N);
    const baseWs = await base.createWorkspace(batch.B, batch.T, false);
    const plain = await gpu.createTensor('logits.base', [N, V]);
    base.forward(baseWs, batch);
    base.logits(baseWs.h, plain, N);
    expect(Array.from(await gpu.read(withShadow))).toEqual(Array.from(await gpu.read(plain)));
  });

  it('saved adapters record the explicit shadow and reload without it; without that record, loading says what is missing', async () => {
    const gj = loadGolden(name).json as unknown as ShadowGoldenJson;
    const base = await loadCausalLM(gpu, fixtureSource(gj.base_model));
    const { model } = await loadAdapter(base, files(name), { explicit: await fixtureExplicitShadow(name) });
    const saved = await saveAdapter(model, { baseModelId: 'qwen3-tiny' });
    const again = await loadAdapter(base, saved);
    expect(again.metadata.shadow_model_embeddings).toBe('own');
    expect(again.model.explicit!.hfConfig.hidden_size).toBe(36);
    for (const s of model.specs) expect(Array.from(await gpu.read(again.model.params.byName.get(s.name)!)), s.name).toEqual(Array.from(await gpu.read(model.params.byName.get(s.name)!)));
    await expect(loadAdapter(base, files(name))).rejects.toThrow(/E217 this adapter belongs to an explicit shadow model \(it holds 'shadow_model.embed_tokens.weight'\)/);
  });

  it('refuses token ids beyond the shadow\'s own table (another tokenizer), or a narrower shadow fed the base embeddings', async () => {
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const e = await readExplicitShadow(fixtureSource('explicit-llama-w36'));
    // a padded vocabulary may be smaller than the base's and still hold every id that occurs
    const small = await ShadowPeftModel.create(base, shadowConfig(), 0, { ...e, hfConfig: { ...e.hfConfig, vocab_size: 90 } });
    const ws = await small.createWorkspace(1, 3);
    small.forward(ws, makeBatch([[7, 8, 89]]), null);
    expect(() => small.forward(ws, makeBatch([[7, 8, 95]]), null)).toThrow(/E217 token id 95 is beyond the explicit shadow's embedding table \(90 rows\)/);
    await expect(ShadowPeftModel.create(base, shadowConfig(), 0, { ...e, ownEmbeddings: false })).rejects.toThrow(/E217 the explicit shadow is 36 wide/);
  });

  it('frozen own embeddings: no gradient or AdamW state for the table, which stays as loaded; every other gradient as the golden', async () => {
    const explicit = { ...(await fixtureExplicitShadow(name))!, freezeEmbeddings: true };
    const g = loadGolden(name);
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const { model } = await loadAdapter(base, files(name), { explicit });
    expect(model.grads.embed).toBeNull();
    expect([...model.grads.byName.keys()].some((k) => k.includes('embed_tokens'))).toBe(false);
    const { batch, labels } = batchOf(g);
    const ws = await model.createWorkspace(batch.B, batch.T);
    expect(ws.idGroups).toBeNull();
    const before = await readAdapterLayout(model, model.params);
    const embedBefore = Array.from(before.get('shadow_model.embed_tokens.weight')!);
    const opt = await ShadowOptimizer.create(model);
    expect([...opt.m.byName.keys()].some((k) => k.includes('embed_tokens'))).toBe(false);
    for (let step = 0; step < 3; step++) {
      model.zeroGrads();
      await model.forwardBackward(ws, batch, labels, 0.05, null, { readLosses: true });
      if (step === 0) {
        for (const [key, got] of await readAdapterLayout(model, model.grads)) {
          const want = g.tensors.get(`grad.${key}`)!;
          if (key === 'shadow_model.embed_tokens.weight') expect(got.every((v) => v === 0), 'no gradient for the frozen table').toBe(true);
          else if (want.some((v) => v !== 0)) expect(relativeL2(got, want), key).toBeLessThan(1e-3);
        }
      }
      await opt.apply({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, 1.0);
    }
    const after = await readAdapterLayout(model, model.params);
    expect(Array.from(after.get('shadow_model.embed_tokens.weight')!)).toEqual(embedBefore);
    // … while the rest trains (here: the projection moved)
    expect(relativeL2(after.get('shadow_hidden_projection.weight')!, before.get('shadow_hidden_projection.weight')!)).toBeGreaterThan(1e-4);
    const saved = await saveAdapter(model, { baseModelId: 'qwen3-tiny' });
    const again = await loadAdapter(base, saved);
    expect(again.metadata.shadow_model_embeddings).toBe('frozen');
    expect(again.model.resolved.frozenEmbeddings).toBe(true);
  });

  it('pretrained weights that do not match their config.json are refused, naming the tensor', async () => {
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const e = await readExplicitShadow(fixtureSource('explicit-llama-w36'));
    const wider = await ShadowPeftModel.create(base, shadowConfig(), 0, { ...e, hfConfig: { ...e.hfConfig, intermediate_size: 41 } });
    await expect(loadPretrainedShadow(wider, fixtureSource('explicit-llama-w36'))).rejects.toThrow(/E217 .*tensor 'model.layers.0.mlp.down_proj.weight' has shape \(36, 40\), its config says \(36, 41\)/);
    const deeper = await ShadowPeftModel.create(base, shadowConfig(), 0, { ...e, hfConfig: { ...e.hfConfig, num_hidden_layers: 3 } });
    await expect(loadPretrainedShadow(deeper, fixtureSource('explicit-llama-w36'))).rejects.toThrow(/E217 .*lacks 9 tensor\(s\) of the shadow backbone, first 'model.layers.2.self_attn.q_proj.weight'/);
  });
});
