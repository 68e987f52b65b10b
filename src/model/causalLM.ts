import { embeddingForwardParts } from '../engine/kernels/embedding/embedding';
import { matmul } from '../engine/kernels/matmul/matmul';
import { rmsnormBackward, rmsnormForward, rmsnormScratchElements } from '../engine/kernels/rmsnorm/rmsnorm';
import type { Gpu } from '../engine/runtime';
import type { RowSplitMatrix, Tensor } from '../engine/tensor';
import { rowParts } from '../engine/tensor';
import type { TokenBatch, BatchTensors } from './batch';
import { createBatchTensors, uploadBatch } from './batch';
import type { ModelConfig } from './config';
import type { BatchInputs, KvCacheSlot } from './decoderLayer';
import { layerBackward, layerForward } from './decoderLayer';
import type { LayerDims } from './layerDims';
import { layerDimsOf } from './layerDims';
import type { LayerWeights } from './layerWeights';
import { layerWeightsFrom } from './layerWeights';
import type { LayerWorkspace } from './layerWorkspace';
import { createLayerWorkspace } from './layerWorkspace';
import type { LoadedWeights } from './loadWeights';
import { modelInvFreq } from './rope';
import { weightMatrix } from './loadWeights';

/** Residual stream of every layer boundary: (L+1) tensors of (B·T, C); [0] = embeddings. */
export type Residuals = Tensor[];

/**
 * A loaded decoder-only LM on the GPU: frozen weights and the pieces a caller composes — embedding,
 * layer by layer forward and backward, final norm, head. ShadowPEFT interleaves its injection and
 * update between the layers with these same pieces.
 */
export class CausalLM {
  readonly dims: LayerDims;
  readonly layers: LayerWeights[];
  readonly embed: RowSplitMatrix; // (V, C), in row parts when one binding cannot hold it
  readonly finalNorm: Tensor; // (C)
  readonly head: RowSplitMatrix; // (V, C), the embedding itself when tied
  readonly invFreq: Tensor; // (HS/2)

  private constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly weights: LoadedWeights,
    invFreq: Tensor,
  ) {
    const v = weights.views;
    this.dims = layerDimsOf(config);
    this.layers = Array.from({ length: config.numLayers }, (_, i) => layerWeightsFrom(v, `model.layers.${i}.`, this.dims));
    this.embed = weightMatrix(weights, 'model.embed_tokens.weight');
    this.finalNorm = v.get('model.norm.weight')!;
    this.head = config.tieWordEmbeddings ? this.embed : weightMatrix(weights, 'lm_head.weight');
    this.invFreq = invFreq;
  }

  static async create(gpu: Gpu, config: ModelConfig, weights: LoadedWeights): Promise<CausalLM> {
    const inv = modelInvFreq(config);
    const invFreq = await gpu.createTensor('rope.inv_freq', [inv.length]);
    gpu.write(invFreq, inv);
    return new CausalLM(gpu, config, weights, invFreq);
  }

  /** Frees the frozen weights; nothing may use the model afterwards. */
  destroy(): void {
    this.gpu.release([[...this.weights.views.values()], [...this.weights.split.values()], this.invFreq]);
  }

  async createWorkspace(B: number, T: number, withBackward: boolean): Promise<ModelWorkspace> {
    const N = B * T;
    const C = this.config.hiddenSize;
    const gpu = this.gpu;
    return {
      B,
      T,
      layer: await createLayerWorkspace(gpu, `ws.B${B}T${T}`, this.dims, B, T, withBackward),
      batch: await createBatchTensors(gpu, 'batch', N),
      x: await gpu.createTensor('x', [N, C]),
      h: await gpu.createTensor('h', [N, C]),
      dx: withBackward ? await gpu.createTensor('dx', [N, C]) : null,
      residuals: withBackward ? await Promise.all(Array.from({ length: this.config.numLayers + 1 }, (_, i) => gpu.createTensor(`residual.${i}`, [N, C]))) : null,
      normScratch: withBackward ? await gpu.createTensor('norm.scratch', [rmsnormScratchElements(N, C)]) : null,
      frozenDw: withBackward ? await gpu.createTensor('norm.frozenDw', [C]) : null,
    };
  }

  /** Uploads the batch and returns what every layer needs. */
  prepareBatch(ws: ModelWorkspace, batch: TokenBatch, keyMask?: Tensor): BatchInputs {
    uploadBatch(this.gpu, ws.batch, batch);
    return { B: batch.B, T: batch.T, positions: ws.batch.positions, keyMask: keyMask ?? ws.batch.mask, invFreq: this.invFreq };
  }

  /** x (B·T, C) = E[ids]. */
  embedTokens(ws: ModelWorkspace, inp: BatchInputs, out: Tensor = ws.x): void {
    embeddingForwardParts(this.gpu, this.embed, ws.batch.ids, out, inp.B * inp.T, this.config.hiddenSize);
  }

  layerForward(l: number, ws: ModelWorkspace, x: Tensor, inp: BatchInputs, cache?: KvCacheSlot): void {
    layerForward(this.gpu, this.layers[l]!, this.dims, ws.layer, x, inp, cache);
  }

  /** dx: dL/d(output of layer l) in, dL/d(input of layer l) out. */
  layerBackward(l: number, ws: ModelWorkspace, xIn: Tensor, dx: Tensor, inp: BatchInputs): void {
    layerBackward(this.gpu, this.layers[l]!, this.dims, ws.layer, xIn, dx, inp);
  }

  /** h = FinalRMSNorm(x). */
  finalNormForward(x: Tensor, h: Tensor, N: number): void {
    rmsnormForward(this.gpu, { x, w: this.finalNorm, y: h, N, C: this.config.hiddenSize, eps: this.config.rmsNormEps });
  }

  /** dx (=) from dh through the final norm of the stream x. */
  finalNormBackward(ws: ModelWorkspace, x: Tensor, dh: Tensor, dx: Tensor, N: number): void {
    rmsnormBackward(this.gpu, { x, w: this.finalNorm, dy: dh, dx, dw: ws.frozenDw!, scratch: ws.normScratch!, N, C: this.config.hiddenSize, eps: this.config.rmsNormEps });
  }

  /** logits (N, V) = h · headᵀ. Full logits: for inspection, tests and decoding, not for training on large V. */
  logits(h: Tensor, out: Tensor, N: number): void {
    const V = this.config.vocabSize;
    // Each row part of the head writes its block of columns of the (N, V) logits.
    for (const p of rowParts(this.head)) matmul(this.gpu, { a: h, b: p.tensor, c: out, M: N, N: p.rows, K: this.config.hiddenSize, transB: true, offsetC: p.rowStart, ldc: V });
  }

  /**
   * The plain forward: embeddings → layers → final norm into ws.h. With `ws.residuals`, the stream at
   * every layer boundary is kept (the backward recomputes from it, and it is the "hidden states").
   */
  forward(ws: ModelWorkspace, batch: TokenBatch): BatchInputs {
    const inp = this.prepareBatch(ws, batch);
    const N = batch.B * batch.T;
    this.embedTokens(ws, inp);
    for (let l = 0; l < this.config.numLayers; l++) {
      if (ws.residuals) this.gpu.copy(ws.x, ws.residuals[l]!);
      this.layerForward(l, ws, ws.x, inp);
    }
    if (ws.residuals) this.gpu.copy(ws.x, ws.residuals[this.config.numLayers]!);
    this.finalNormForward(ws.x, ws.h, N);
    return inp;
  }

  /**
   * Backward through the frozen model (activation gradients only): from dL/dh (B·T, C) at the final
   * norm's output to dL/d(input embeddings), left in ws.dx. Requires a forward with residuals first.
   */
  backwardToEmbeddings(ws: ModelWorkspace, inp: BatchInputs, dh: Tensor): Tensor {
    const N = inp.B * inp.T;
    const L = this.config.numLayers;
    const res = ws.residuals!;
    this.finalNormBackward(ws, res[L]!, dh, ws.dx!, N);
    for (let l = L - 1; l >= 0; l--) this.layerBackward(l, ws, res[l]!, ws.dx!, inp);
    return ws.dx!;
  }
}

export interface ModelWorkspace {
  B: number;
  T: number;
  layer: LayerWorkspace;
  batch: BatchTensors;
  x: Tensor; // (N, C) residual stream
  h: Tensor; // (N, C) final-normed
  dx: Tensor | null;
  residuals: Residuals | null;
  normScratch: Tensor | null;
  frozenDw: Tensor | null;
}
