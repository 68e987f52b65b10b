import { embeddingForwardParts } from '../engine/kernels/embedding/embedding';
import { embeddingBackward, groupTokenIds } from '../engine/kernels/embedding/embeddingBackward';
import { addScaledInPlace } from '../engine/kernels/elementwise/elementwise';
import { matmul } from '../engine/kernels/matmul/matmul';
import { rmsnormBackward, rmsnormForward } from '../engine/kernels/rmsnorm/rmsnorm';
import { StudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import { formatBytes } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import { numel } from '../engine/tensor';
import type { TokenBatch } from '../model/batch';
import type { CausalLM } from '../model/causalLM';
import type { BatchInputs } from '../model/decoderLayer';
import type { KvCache } from '../model/kvCache';
import { layerBackward, layerForward } from '../model/decoderLayer';
import type { LayerDims } from '../model/layerDims';
import { modelInvFreq } from '../model/rope';
import { shiftLabels } from '../model/lossHead';
import type { ShadowConfig } from './config';
import { ShadowErrorCode } from './errors';
import type { ExplicitShadow } from './explicitShadow';
import { explicitShadowModelConfig } from './explicitShadow';
import { resolveShadowOn, shadowLayerDims } from './fromModel';
import { initializeShadow } from './init';
import type { ResolvedShadow } from './resolve';
import type { GpuParamSpec, ShadowTensors } from './shadowParams';
import { allocateShadowTensors, gpuParamSpecs } from './shadowParams';
import { MAX_MODEL_BYTES } from '../model/limits';
import type { DropoutStep } from './slotOps';
import { injectBackward, injectForward, updateBackward, updateForward } from './slotOps';
import type { ShadowWorkspace } from './shadowWorkspace';
import { createShadowWorkspace } from './shadowWorkspace';

export type { ShadowWorkspace } from './shadowWorkspace';

/** Hooks into the forward for inspection: called while slot k's tensors are still in the workspace. */
export interface SlotObserver {
  /** `injected` is h̃ = h + α·Δ; the stream before injection is ws.hs[k + 1]. */
  afterInject(k: number, injected: Tensor): void;
  /** ws.states[k + 1] and ws.slot.gamma hold the slot's update. */
  afterUpdate(k: number): void;
}

/** The two KV caches of ShadowPEFT decoding: L base layers and N_s shadow layers. */
export interface ShadowCaches {
  base: KvCache;
  shadow: KvCache;
}

export interface StepLosses {
  loss: number;
  baseLoss: number;
  shadowLoss: number;
  supervised: number;
}

/**
 * ShadowPEFT on a loaded base model (docs/shadowpeft.md §3): the shadow backbone, injection before every
 * base layer after the first, the gated state update after it, the combined loss, and the backward
 * through the frozen base into every adapter tensor.
 */
export class ShadowPeftModel {
  readonly resolved: ResolvedShadow;
  readonly dims: LayerDims;
  /** Every GPU tensor of the adapter (parameters), in file order. */
  readonly specs: GpuParamSpec[];
  /** Those with a gradient and AdamW moments (all but an explicit shadow's frozen embeddings). */
  readonly trainableSpecs: GpuParamSpec[];

  private constructor(
    readonly base: CausalLM,
    readonly config: ShadowConfig,
    /** The pretrained model serving as the shadow (docs/shadowpeft.md §6), or null for the implicit shadow. */
    readonly explicit: ExplicitShadow | null,
    readonly params: ShadowTensors,
    readonly grads: ShadowTensors,
    readonly invFreq: Tensor,
  ) {
    this.resolved = resolveShadowOn(config, base.config, explicit);
    this.dims = shadowLayerDims(this.resolved);
    this.specs = gpuParamSpecs(this.resolved, base.gpu.caps.limits.maxStorageBufferBindingSize);
    this.trainableSpecs = this.specs.filter((s) => s.trainable);
  }

  get gpu(): Gpu {
    return this.base.gpu;
  }

  /**
   * A fresh adapter (§4 initialisation, seeded) with gradient buffers. With `explicit`, the shadow
   * backbone has that model's architecture (fill in its pretrained weights with loadPretrainedShadow).
   */
  static async create(base: CausalLM, config: ShadowConfig, seed = 0, explicit: ExplicitShadow | null = null, opts: { initialize?: boolean } = {}): Promise<ShadowPeftModel> {
    const gpu = base.gpu;
    const resolved = resolveShadowOn(config, base.config, explicit);
    checkAdapterFits(resolved, gpu);
    const made: unknown[] = [];
    let model: ShadowPeftModel;
    try {
      const params = await allocateShadowTensors(gpu, resolved, 'adapter');
      made.push(params.buffers);
      const grads = await allocateShadowTensors(gpu, resolved, 'adapter.grad', { trainableOnly: true });
      made.push(grads.buffers);
      // The implicit shadow copies the base architecture, rope scaling included, at its own head size;
      // an explicit one keeps its own rotary settings.
      const inv = explicit ? modelInvFreq(explicitShadowModelConfig(explicit)) : modelInvFreq(base.config, resolved.backbone.HS);
      const invFreq = await gpu.createTensor('shadow.rope.inv_freq', [inv.length]);
      made.push(invFreq);
      gpu.write(invFreq, inv);
      model = new ShadowPeftModel(base, config, explicit, params, grads, invFreq);
    } catch (e) {
      gpu.release(made); // out of memory half-way: give back what was made
      throw e;
    }
    // initialize: false leaves zeros, for measurements whose values do not matter (and a large
    // explicit shadow's random init costs seconds of CPU).
    if (opts.initialize ?? true) initializeShadow(gpu, model.specs, model.params, seed);
    return model;
  }

  /**
   * Writes one adapter tensor given in the file's layout (key of shadow_adapter.safetensors) into the
   * GPU tensors it is kept in: whole, one per slot of a stacked tensor, or the row parts of a table.
   */
  writeFileTensor(key: string, values: Float32Array): void {
    for (const s of this.specs) {
      if (s.fileKey === key) this.gpu.write(this.params.byName.get(s.name)!, values.subarray(s.fileOffset, s.fileOffset + numel(s.shape)));
    }
  }

  /** Frees the adapter's parameters and gradients (the base model is not touched). */
  destroy(): void {
    this.gpu.release([...this.params.buffers, ...this.grads.buffers, this.invFreq]);
  }

  createWorkspace(B: number, T: number): Promise<ShadowWorkspace> {
    return createShadowWorkspace(this.gpu, this.base, this.resolved, B, T);
  }

  /** Uploads the batch's positions grouped by token id; returns the number of distinct ids. */
  private uploadIdGroups(t: NonNullable<ShadowWorkspace['idGroups']>, batch: TokenBatch): number {
    const groups = groupTokenIds(batch.inputIds);
    this.gpu.write(t.unique, groups.unique);
    this.gpu.write(t.offsets, groups.offsets);
    this.gpu.write(t.positions, groups.positions);
    return groups.unique.length;
  }

  /** An explicit shadow with its own embeddings must hold a row for every token id of the base's tokenizer. */
  private checkShadowTokenIds(batch: TokenBatch): void {
    const rows = this.resolved.ownEmbeddingRows;
    if (rows === null) return;
    for (const id of batch.inputIds) {
      if (id >= rows) {
        throw new StudioError(
          ShadowErrorCode.explicitShadowMismatch,
          `token id ${id} is beyond the explicit shadow's embedding table (${rows} rows): the shadow model does not use the base model's tokenizer`,
          'choose a shadow model with the same tokenizer as the base (e.g. a smaller model of the same family)',
        );
      }
    }
  }

  private shadowInputs(inp: BatchInputs): BatchInputs {
    return { ...inp, invFreq: this.invFreq };
  }

  /**
   * The forward of §3, leaving the final normed base stream in ws.base.h and s⁰ in ws.states[0].
   * Saves what the backward recomputes from: the stream entering every base layer and every state.
   * With `caches` (inference, B = 1), only the batch's new tokens run: base and shadow layers read
   * and extend their own KV caches, and injection and update act per token, so earlier tokens'
   * states never change. `mode: 'shadow_only'` stops after s⁰ (the detached shadow).
   */
  forward(ws: ShadowWorkspace, batch: TokenBatch, drop: DropoutStep | null, caches?: ShadowCaches, mode: 'base_shadow' | 'shadow_only' = 'base_shadow', observer?: SlotObserver): BatchInputs {
    const gpu = this.gpu;
    const r = this.resolved;
    const base = this.base;
    const N = batch.B * batch.T;
    this.checkShadowTokenIds(batch);
    const inp = base.prepareBatch(ws.base, batch, caches?.base.mask);
    const sInp = { ...this.shadowInputs(inp), keyMask: caches ? caches.shadow.mask : inp.keyMask };
    base.embedTokens(ws.base, inp, ws.hs[0]);
    // s⁰ = P(ShadowNorm(ShadowLayers(x_s))): x_s = the base embeddings e, or an explicit shadow's own;
    // P = shadow_hidden_projection only when the shadow is narrower or wider than the base.
    const Cs = r.backbone.C;
    if (this.params.embed) embeddingForwardParts(gpu, this.params.embed, ws.base.batch.ids, ws.sx, N, Cs);
    else gpu.copy(ws.hs[0]!, ws.sx);
    for (let i = 0; i < r.backbone.N; i++) {
      gpu.copy(ws.sx, ws.shadowRes[i]!);
      layerForward(gpu, this.params.layers[i]!, this.dims, ws.shadowLayer, ws.sx, sInp, caches?.shadow.slot(i));
    }
    gpu.copy(ws.sx, ws.shadowRes[r.backbone.N]!);
    rmsnormForward(gpu, { x: ws.sx, w: this.params.norm, y: ws.sy, N, C: Cs, eps: r.backbone.rmsNormEps });
    if (this.params.projection) matmul(gpu, { a: ws.sy, b: this.params.projection, c: ws.states[0]!, M: N, N: r.C, K: Cs, transB: true });
    if (mode === 'shadow_only') return inp;
    // Base layers with injection before and update after every layer but the first.
    const x = ws.base.x;
    gpu.copy(ws.hs[0]!, x);
    base.layerForward(0, ws.base, x, inp, caches?.base.slot(0));
    gpu.copy(x, ws.hs[1]!);
    for (let l = 1; l < r.L; l++) {
      const k = l - 1;
      injectForward(gpu, r, this.params.slots[k]!, ws.slot, k, x, ws.states[k]!, N, drop);
      observer?.afterInject(k, x);
      base.layerForward(l, ws.base, x, inp, caches?.base.slot(l));
      gpu.copy(x, ws.hs[l + 1]!);
      if (k < r.L - 2) {
        updateForward(gpu, r, this.params.slots[k]!, this.params.lnW, this.params.lnB, ws.slot, k, x, ws.states[k]!, ws.states[k + 1]!, N, drop);
        observer?.afterUpdate(k);
      }
    }
    base.finalNormForward(x, ws.base.h, N);
    return inp;
  }

  /**
   * One training pass: forward, loss = CE(base) + λ·CE(shadow logits of s⁰), backward into the
   * adapter gradients (accumulated: zero them with zeroGrads() at the start of an optimizer step).
   * `labels` are unshifted (HF convention), −100 = ignored.
   */
  async forwardBackward(ws: ShadowWorkspace, batch: TokenBatch, labels: ArrayLike<number>, lambda: number, drop: DropoutStep | null, opts: { readLosses?: boolean } = {}): Promise<StepLosses | null> {
    const gpu = this.gpu;
    const r = this.resolved;
    const base = this.base;
    const N = batch.B * batch.T;
    const C = r.C;
    // An explicit shadow's trained embeddings need the positions grouped by id: uploaded now, with the
    // batch (each upload submits the dispatches recorded so far; mid-backward it would split the step).
    const embedGrad = this.grads.embed && ws.idGroups ? { parts: this.grads.embed, ids: ws.idGroups, distinct: this.uploadIdGroups(ws.idGroups, batch) } : null;
    const inp = this.forward(ws, batch, drop);
    const targets = shiftLabels(labels, batch.B, batch.T);
    const supervised = ws.baseLoss.setTargets(targets); // for the shadow's paired head too
    ws.baseLoss.runOnTargets(ws.base.h, base.head, { dh: ws.dh });
    ws.shadowLoss.runOnTargets(ws.states[0]!, base.head, { dh: ws.dsCE, weight: lambda });

    // Final norm, then the base layers from the top, with each slot's update and injection.
    base.finalNormBackward(ws.base, ws.hs[r.L]!, ws.dh, ws.dx, N);
    gpu.zero(ws.ds);
    for (let l = r.L - 1; l >= 1; l--) {
      const k = l - 1;
      const slotW = this.params.slots[k]!;
      const slotG = this.grads.slots[k]!;
      if (k < r.L - 2) {
        // Recomputes the slot's internals; the new state itself is not needed (xt is free until below).
        updateForward(gpu, r, slotW, this.params.lnW, this.params.lnB, ws.slot, k, ws.hs[l + 1]!, ws.states[k]!, ws.xt, N, drop);
        updateBackward(gpu, r, slotW, slotG, this.params.lnW, this.grads.lnW, this.grads.lnB, ws.slot, k, ws.hs[l + 1]!, ws.states[k]!, ws.ds, ws.dsPrev, ws.dx, N, drop);
      } else {
        gpu.zero(ws.dsPrev); // the last slot's new state is never read
      }
      gpu.copy(ws.hs[l]!, ws.xt);
      injectForward(gpu, r, slotW, ws.slot, k, ws.xt, ws.states[k]!, N, drop);
      base.layerBackward(l, ws.base, ws.xt, ws.dx, inp);
      injectBackward(gpu, r, slotW, slotG, ws.slot, k, ws.dx, ws.dsPrev, N, drop);
      gpu.copy(ws.dsPrev, ws.ds);
    }
    // Layer 0 only passes gradient to the frozen embeddings: nothing to learn there, so stop.
    // Shadow backbone: dL/ds⁰ from the slots plus the shadow loss.
    addScaledInPlace(gpu, ws.ds, ws.dsCE, N * C, 1);
    const Ns = r.backbone.N;
    const Cs = r.backbone.C;
    if (this.params.projection) {
      // s⁰ = y·Pᵀ: dP (C, C_s) += dsᵀ·y, dy (N, C_s) = ds·P
      matmul(gpu, { a: ws.ds, b: ws.sy, c: this.grads.projection!, M: C, N: Cs, K: N, transA: true, accumulate: true });
      matmul(gpu, { a: ws.ds, b: this.params.projection, c: ws.sdy, M: N, N: Cs, K: C });
    }
    rmsnormBackward(gpu, { x: ws.shadowRes[Ns]!, w: this.params.norm, dy: ws.sdy, dx: ws.sdx, dw: this.grads.norm, scratch: ws.normScratch, N, C: Cs, eps: r.backbone.rmsNormEps });
    const sInp = this.shadowInputs(inp);
    for (let i = Ns - 1; i >= 0; i--) layerBackward(gpu, this.params.layers[i]!, this.dims, ws.shadowLayer, ws.shadowRes[i]!, ws.sdx, sInp, this.grads.layers[i]);
    // An explicit shadow's own embeddings are trained: scatter the stream gradient into their rows.
    if (embedGrad) {
      for (const p of embedGrad.parts) {
        embeddingBackward(gpu, { ...embedGrad.ids, U: embedGrad.distinct, dOut: ws.sdx, dTable: p.tensor, V: p.rows, C: Cs, rowStart: p.rowStart, accumulate: true });
      }
    }
    if (!opts.readLosses) return null;
    const baseLoss = (await gpu.read(ws.baseLoss.loss))[0]!;
    const shadowLoss = lambda === 0 ? 0 : (await gpu.read(ws.shadowLoss.loss))[0]! / lambda;
    return { loss: baseLoss + lambda * shadowLoss, baseLoss, shadowLoss, supervised };
  }

  zeroGrads(): void {
    for (const b of this.grads.buffers) this.gpu.zeroBuffer(b);
  }
}

/**
 * Before the adapter's first GPU tensor: every tensor must fit one binding (the embedding table is
 * already split by rows), and parameters plus gradients must stay under MAX_MODEL_BYTES. E222 names it.
 */
function checkAdapterFits(r: ResolvedShadow, gpu: Gpu): void {
  const limits = gpu.caps.limits;
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  let total = 0;
  for (const s of gpuParamSpecs(r, limits.maxStorageBufferBindingSize)) {
    const bytes = 4 * numel(s.shape);
    if (bytes > limit) {
      throw new StudioError(ShadowErrorCode.adapterTooLarge, `adapter tensor '${s.name}' (${s.shape.join('×')}) needs ${formatBytes(bytes)}, more than one storage binding holds on this device (${formatBytes(limit)})`, 'use smaller shadow sizes (shadow_intermediate_size, injection_hidden_size, gate_hidden_size)');
    }
    total += bytes * (s.trainable ? 2 : 1);
  }
  if (total > MAX_MODEL_BYTES) {
    throw new StudioError(ShadowErrorCode.adapterTooLarge, `the adapter's parameters and gradients need ${formatBytes(total)}, more than the ${formatBytes(MAX_MODEL_BYTES)} any WebGPU device lends (src/model/limits.ts)`, 'use fewer shadow layers or smaller shadow sizes');
  }
}
