import { GpuErrorCode, StudioError } from '../engine/errors';
import { attentionBackward, attentionForward } from '../engine/kernels/attention/attention';
import { swigluBackward, swigluForward } from '../engine/kernels/elementwise/elementwise';
import { biasBackward, linearBackwardInput, linearBackwardWeight, linearForward } from '../engine/kernels/matmul/matmul';
import { ropeBackward, ropeForward } from '../engine/kernels/rope/rope';
import { rmsnormBackward, rmsnormForward } from '../engine/kernels/rmsnorm/rmsnorm';
import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import { rowsView } from '../engine/tensor';
import type { LayerDims } from './layerDims';
import type { LayerWeights } from './layerWeights';
import type { LayerWorkspace } from './layerWorkspace';

/** Per-batch inputs every layer shares. */
export interface BatchInputs {
  B: number;
  T: number;
  positions: Tensor; // (B, T) u32
  /** (B, maxT) u32 key mask, 1 = real token; maxT = T without a cache */
  keyMask: Tensor;
  invFreq: Tensor; // (HS/2) f32
}

/** A layer's slice of a KV cache: keys and values of every position so far, rows maxT apart. */
export interface KvCacheSlot {
  k: Tensor; // (B, maxT, NKV, HS)
  v: Tensor; // (B, maxT, NKV, HS)
  maxT: number;
  /** tokens already in the cache; the batch's T tokens go to positions pastLen … pastLen+T−1 */
  pastLen: number;
}

/**
 * x (B·T, C) ← DecoderLayer(x), in place: pre-norm attention and SwiGLU MLP, each added to the
 * residual stream (the output projections accumulate straight into x). Leaves the layer's internals
 * in the workspace, which the backward uses right after recomputing them.
 */
export function layerForward(gpu: Gpu, w: LayerWeights, d: LayerDims, ws: LayerWorkspace, x: Tensor, inp: BatchInputs, cache?: KvCacheSlot): void {
  const { B, T } = inp;
  const N = B * T;
  const C = d.hidden;
  const qOut = d.heads * d.headDim;
  const kvOut = d.kvHeads * d.headDim;
  rmsnormForward(gpu, { x, w: w.inputNorm, y: ws.a, N, C, eps: d.eps });
  const qDst = d.qkNorm ? ws.qPre : ws.q;
  const kDst = d.qkNorm ? ws.kPre : ws.k;
  linearForward(gpu, ws.a, w.q, qDst, N, C, qOut, false, w.qBias);
  linearForward(gpu, ws.a, w.k, kDst, N, C, kvOut, false, w.kBias);
  linearForward(gpu, ws.a, w.v, ws.v, N, C, kvOut, false, w.vBias);
  if (d.qkNorm) {
    rmsnormForward(gpu, { x: ws.qPre, w: w.qNorm!, y: ws.q, N: N * d.heads, C: d.headDim, eps: d.eps });
    rmsnormForward(gpu, { x: ws.kPre, w: w.kNorm!, y: ws.k, N: N * d.kvHeads, C: d.headDim, eps: d.eps });
  }
  const rope = { pos: inp.positions, invFreq: inp.invFreq, rows: N, HS: d.headDim };
  ropeForward(gpu, { ...rope, NH: d.heads, x: ws.q, y: ws.q });
  ropeForward(gpu, { ...rope, NH: d.kvHeads, x: ws.k, y: ws.k });
  const dims = { B, Tq: T, NH: d.heads, NKV: d.kvHeads, HS: d.headDim };
  if (cache) {
    appendToCache(gpu, ws.k, cache.k, B, T, kvOut, cache);
    appendToCache(gpu, ws.v, cache.v, B, T, kvOut, cache);
    attentionForward(gpu, { ...dims, qOffset: cache.pastLen, Tk: cache.pastLen + T, maxT: cache.maxT, q: ws.q, k: cache.k, v: cache.v, out: ws.attn, lse: ws.lse, mask: inp.keyMask });
  } else {
    attentionForward(gpu, { ...dims, q: ws.q, k: ws.k, v: ws.v, out: ws.attn, lse: ws.lse, mask: inp.keyMask });
  }
  linearForward(gpu, ws.attn, w.o, x, N, qOut, C, true);
  if (ws.xMid) gpu.copy(x, ws.xMid); // only the backward reads it
  rmsnormForward(gpu, { x, w: w.postNorm, y: ws.a, N, C, eps: d.eps });
  linearForward(gpu, ws.a, w.gate, ws.gate, N, C, d.intermediate);
  linearForward(gpu, ws.a, w.up, ws.up, N, C, d.intermediate);
  swigluForward(gpu, ws.gate, ws.up, ws.act, N * d.intermediate);
  linearForward(gpu, ws.act, w.down, x, N, d.intermediate, C, true);
}

/**
 * Backward of one layer. `xIn` is the layer's saved input (B·T, C); `dx` holds dL/d(output) on entry
 * and dL/d(input) on return. The layer's internals are recomputed from xIn first (activation
 * recomputation: only the residual stream is kept between layers). With `grads`, the weight
 * gradients are accumulated (+=) into it (trainable layers); without, the weights are frozen and only
 * activation gradients flow.
 */
export function layerBackward(gpu: Gpu, w: LayerWeights, d: LayerDims, ws: LayerWorkspace, xIn: Tensor, dx: Tensor, inp: BatchInputs, grads?: LayerWeights): void {
  const { B, T } = inp;
  const N = B * T;
  const C = d.hidden;
  const I = d.intermediate;
  const qOut = d.heads * d.headDim;
  const kvOut = d.kvHeads * d.headDim;
  const xMid = ws.xMid;
  if (!xMid) throw new StudioError(GpuErrorCode.badArgument, 'layer backward on a forward-only workspace', 'create the workspace with withBackward = true');
  // Recompute the internals; ws.x becomes the layer's output, xIn stays its input.
  gpu.copy(xIn, ws.x);
  layerForward(gpu, w, d, ws, ws.x, inp);
  const normDw = (g: Tensor | undefined) => g ?? ws.frozenDw;

  // MLP: x_out = xMid + down(swiglu(gate(a2), up(a2))), a2 = norm(xMid)
  linearBackwardInput(gpu, dx, w.down, ws.dact, N, I, C);
  if (grads) linearBackwardWeight(gpu, dx, ws.act, grads.down, N, I, C);
  swigluBackward(gpu, { g: ws.gate, u: ws.up, dy: ws.dact, dg: ws.dgate, du: ws.dup, n: N * I });
  // ws.a still holds a2 = norm(xMid) from the recomputed forward.
  linearBackwardInput(gpu, ws.dgate, w.gate, ws.da, N, C, I);
  linearBackwardInput(gpu, ws.dup, w.up, ws.da, N, C, I, true);
  if (grads) {
    linearBackwardWeight(gpu, ws.dgate, ws.a, grads.gate, N, C, I);
    linearBackwardWeight(gpu, ws.dup, ws.a, grads.up, N, C, I);
  }
  rmsnormBackward(gpu, { x: xMid, w: w.postNorm, dy: ws.da, dx, dw: normDw(grads?.postNorm), scratch: ws.normScratch, N, C, eps: d.eps, accumulateDx: true });

  // Attention: xMid = x_in + o(attn(q, k, v)), q/k/v from a1 = norm(x_in)
  linearBackwardInput(gpu, dx, w.o, ws.dattn, N, qOut, C);
  if (grads) linearBackwardWeight(gpu, dx, ws.attn, grads.o, N, qOut, C);
  attentionBackward(gpu, {
    B, Tq: T, NH: d.heads, NKV: d.kvHeads, HS: d.headDim,
    q: ws.q, k: ws.k, v: ws.v, out: ws.attn, lse: ws.lse, dout: ws.dattn, delta: ws.delta, dq: ws.dq, dk: ws.dk, dv: ws.dv, mask: inp.keyMask,
  });
  const rope = { pos: inp.positions, invFreq: inp.invFreq, rows: N, HS: d.headDim };
  ropeBackward(gpu, { ...rope, NH: d.heads, dy: ws.dq, dx: ws.dq });
  ropeBackward(gpu, { ...rope, NH: d.kvHeads, dy: ws.dk, dx: ws.dk });
  let dqIn = ws.dq;
  let dkIn = ws.dk;
  if (d.qkNorm) {
    rmsnormBackward(gpu, { x: ws.qPre, w: w.qNorm!, dy: ws.dq, dx: ws.dqPre, dw: normDw(grads?.qNorm), scratch: ws.normScratch, N: N * d.heads, C: d.headDim, eps: d.eps });
    rmsnormBackward(gpu, { x: ws.kPre, w: w.kNorm!, dy: ws.dk, dx: ws.dkPre, dw: normDw(grads?.kNorm), scratch: ws.normScratch, N: N * d.kvHeads, C: d.headDim, eps: d.eps });
    dqIn = ws.dqPre;
    dkIn = ws.dkPre;
  }
  linearBackwardInput(gpu, dqIn, w.q, ws.da, N, C, qOut);
  linearBackwardInput(gpu, dkIn, w.k, ws.da, N, C, kvOut, true);
  linearBackwardInput(gpu, ws.dv, w.v, ws.da, N, C, kvOut, true);
  if (grads) {
    rmsnormForward(gpu, { x: xIn, w: w.inputNorm, y: ws.a, N, C, eps: d.eps }); // a1 = norm(x_in); ws.a held a2
    linearBackwardWeight(gpu, dqIn, ws.a, grads.q, N, C, qOut);
    linearBackwardWeight(gpu, dkIn, ws.a, grads.k, N, C, kvOut);
    linearBackwardWeight(gpu, ws.dv, ws.a, grads.v, N, C, kvOut);
    if (d.qkvBias) {
      biasBackward(gpu, dqIn, ws.ones, grads.qBias!, N, qOut);
      biasBackward(gpu, dkIn, ws.ones, grads.kBias!, N, kvOut);
      biasBackward(gpu, ws.dv, ws.ones, grads.vBias!, N, kvOut);
    }
  }
  rmsnormBackward(gpu, { x: xIn, w: w.inputNorm, dy: ws.da, dx, dw: normDw(grads?.inputNorm), scratch: ws.normScratch, N, C, eps: d.eps, accumulateDx: true });
}

/** Copies the batch's new key or value rows (B, T, NKV·HS) into the cache at pastLen (copies need only 4-byte alignment). */
function appendToCache(gpu: Gpu, src: Tensor, dst: Tensor, B: number, T: number, width: number, cache: KvCacheSlot): void {
  for (let b = 0; b < B; b++) gpu.copy(rowsView(src, b * T, T, width), rowsView(dst, b * cache.maxT + cache.pastLen, T, width));
}
