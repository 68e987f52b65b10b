import type { DropoutKey } from '../engine/kernels/dropout/dropout';
import { dropoutBackward, dropoutForward } from '../engine/kernels/dropout/dropout';
import { addScaledInPlace, gatedMixBackward, gatedMixForward, sigmoidBackward, sigmoidForward, siluBackward, siluForward, subForward } from '../engine/kernels/elementwise/elementwise';
import { layernormBackward, layernormForward } from '../engine/kernels/layernorm/layernorm';
import { linearBackwardInput, linearBackwardWeight, linearForward, matmul } from '../engine/kernels/matmul/matmul';
import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import type { ResolvedShadow } from './resolve';
import type { SlotWeights } from './shadowParams';
import type { SlotWorkspace } from './slotWorkspace';

/** The shared update LayerNorm's epsilon (nn.LayerNorm default). */
export const UPDATE_LN_EPS = 1e-5;

/** Dropout of a step, or null when dropout is off (evaluation, inference). */
export interface DropoutStep {
  seed: number;
  step: number;
}

/** Dropout tensor ids: 2k+1 for slot k's injection bottleneck, 2k+2 for its update transform. */
function key(d: DropoutStep, tensorId: number): DropoutKey {
  return { seed: d.seed, step: d.step, tensorId };
}

/**
 * Injection into the residual stream before base layer k+1, in place:
 * h (N, C) ← h + α · Dropout(δ · Wdown[k]) · Wup[k],  δ = h − s.
 * Leaves δ, zPre and z in the workspace for the backward.
 */
export function injectForward(gpu: Gpu, r: ResolvedShadow, w: SlotWeights, ws: SlotWorkspace, k: number, h: Tensor, s: Tensor, N: number, drop: DropoutStep | null): void {
  const { C, R } = r;
  subForward(gpu, h, s, ws.delta, N * C);
  matmul(gpu, { a: ws.delta, b: w.down, c: ws.zPre, M: N, N: R, K: C });
  if (drop && r.dropout > 0) dropoutForward(gpu, ws.zPre, ws.z, N * R, r.dropout, key(drop, 2 * k + 1));
  else gpu.copy(ws.zPre, ws.z);
  matmul(gpu, { a: ws.z, b: w.up, c: h, M: N, N: C, K: R, alpha: r.alpha, accumulate: true });
}

/**
 * Backward of injectForward (run injectForward first to refill the workspace). On entry dh holds
 * dL/dh̃; on return dL/dh. ds (+=) receives −dδ. Gradients of Wdown, Wup accumulate (+=).
 */
export function injectBackward(gpu: Gpu, r: ResolvedShadow, w: SlotWeights, g: SlotWeights, ws: SlotWorkspace, k: number, dh: Tensor, ds: Tensor, N: number, drop: DropoutStep | null): void {
  const { C, R, alpha } = r;
  matmul(gpu, { a: dh, b: w.up, c: ws.dz, M: N, N: R, K: C, transB: true, alpha }); // dz (N, R) = α·dh̃·Wupᵀ
  matmul(gpu, { a: ws.z, b: dh, c: g.up, M: R, N: C, K: N, transA: true, alpha, accumulate: true }); // dWup += α·zᵀ·dh̃
  if (drop && r.dropout > 0) dropoutBackward(gpu, ws.dz, ws.dzPre, N * R, r.dropout, key(drop, 2 * k + 1));
  else gpu.copy(ws.dz, ws.dzPre);
  matmul(gpu, { a: ws.delta, b: ws.dzPre, c: g.down, M: C, N: R, K: N, transA: true, accumulate: true }); // dWdown += δᵀ·dzPre
  matmul(gpu, { a: ws.dzPre, b: w.down, c: ws.dDelta, M: N, N: C, K: R, transB: true }); // dδ (N, C) = dzPre·Wdownᵀ
  addScaledInPlace(gpu, dh, ws.dDelta, N * C, 1); // h feeds δ directly
  addScaledInPlace(gpu, ds, ws.dDelta, N * C, -1); // and s enters δ with a minus sign
}

/**
 * Update of the shadow state after base layer k+1:
 * u = LayerNorm(h), t = Wt2·Dropout(SiLU(Wt1·u)), γ = σ(Wg2·SiLU(Wg1·u)), sNext = s + γ ⊙ (t − s).
 */
export function updateForward(gpu: Gpu, r: ResolvedShadow, w: SlotWeights, lnW: Tensor, lnB: Tensor, ws: SlotWorkspace, k: number, h: Tensor, s: Tensor, sNext: Tensor, N: number, drop: DropoutStep | null): void {
  const { C, G } = r;
  layernormForward(gpu, { x: h, w: lnW, b: lnB, y: ws.u, N, C, eps: UPDATE_LN_EPS });
  linearForward(gpu, ws.u, w.t1, ws.t1, N, C, G);
  siluForward(gpu, ws.t1, ws.at, N * G);
  if (drop && r.dropout > 0) dropoutForward(gpu, ws.at, ws.atDrop, N * G, r.dropout, key(drop, 2 * k + 2));
  else gpu.copy(ws.at, ws.atDrop);
  linearForward(gpu, ws.atDrop, w.t2, ws.t, N, G, C);
  linearForward(gpu, ws.u, w.g1, ws.g1, N, C, G);
  siluForward(gpu, ws.g1, ws.ag, N * G);
  linearForward(gpu, ws.ag, w.g2, ws.g2, N, G, C);
  sigmoidForward(gpu, ws.g2, ws.gamma, N * C);
  gatedMixForward(gpu, s, ws.gamma, ws.t, sNext, N * C);
}

/**
 * Backward of updateForward (run it first to refill the workspace): from dsNext, writes dS (=) for
 * the previous state, adds dL/dh into dh (+=), and accumulates the slot's and the LayerNorm's
 * parameter gradients (+=).
 */
export function updateBackward(gpu: Gpu, r: ResolvedShadow, w: SlotWeights, g: SlotWeights, lnW: Tensor, gLnW: Tensor, gLnB: Tensor, ws: SlotWorkspace, k: number, h: Tensor, s: Tensor, dsNext: Tensor, dS: Tensor, dh: Tensor, N: number, drop: DropoutStep | null): void {
  const { C, G } = r;
  gatedMixBackward(gpu, { s, gamma: ws.gamma, t: ws.t, dOut: dsNext, dS, dGamma: ws.dGamma, dT: ws.dt, n: N * C });
  // transform branch: t = atDrop·Wt2ᵀ
  linearBackwardWeight(gpu, ws.dt, ws.atDrop, g.t2, N, G, C);
  linearBackwardInput(gpu, ws.dt, w.t2, ws.dAtDrop, N, G, C);
  if (drop && r.dropout > 0) dropoutBackward(gpu, ws.dAtDrop, ws.dAt, N * G, r.dropout, key(drop, 2 * k + 2));
  else gpu.copy(ws.dAtDrop, ws.dAt);
  siluBackward(gpu, ws.t1, ws.dAt, ws.dT1, N * G);
  linearBackwardWeight(gpu, ws.dT1, ws.u, g.t1, N, C, G);
  linearBackwardInput(gpu, ws.dT1, w.t1, ws.du, N, C, G);
  // gate branch: γ = σ(ag·Wg2ᵀ)
  sigmoidBackward(gpu, ws.gamma, ws.dGamma, ws.dG2, N * C);
  linearBackwardWeight(gpu, ws.dG2, ws.ag, g.g2, N, G, C);
  linearBackwardInput(gpu, ws.dG2, w.g2, ws.dAg, N, G, C);
  siluBackward(gpu, ws.g1, ws.dAg, ws.dG1, N * G);
  linearBackwardWeight(gpu, ws.dG1, ws.u, g.g1, N, C, G);
  linearBackwardInput(gpu, ws.dG1, w.g1, ws.du, N, C, G, true);
  layernormBackward(gpu, { x: h, w: lnW, dy: ws.du, dx: dh, dw: gLnW, db: gLnB, scratch: ws.lnScratch, N, C, eps: UPDATE_LN_EPS, accumulateDx: true });
}
