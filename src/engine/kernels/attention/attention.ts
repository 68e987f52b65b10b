import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import type { AttentionShape } from './attention.ref';
import dkdvSource from './attention_backward_dkdv.wgsl?raw';
import dqSource from './attention_backward_dq.wgsl?raw';
import forwardSource from './attention_forward.wgsl?raw';

export type { AttentionShape } from './attention.ref';

const params = { B: 'u32', Tq: 'u32', Tk: 'u32', maxT: 'u32', NH: 'u32', NKV: 'u32', HS: 'u32', qOffset: 'u32', scale: 'f32' } as const;
const forwardKernel = new KernelSource('attention_forward', forwardSource, params);
const dqKernel = new KernelSource('attention_backward_dq', dqSource, params);
const dkdvKernel = new KernelSource('attention_backward_dkdv', dkdvSource, params);

/** Invocations per workgroup: keys (forward, dq) or queries (dk/dv) per tile. */
const WG = 64;
/** Largest head size: keeps the per-invocation accumulators at ≤ 2·256/WG floats. */
export const ATTENTION_MAX_HS = 256;

/**
 * Sizes of one attention call. Full (training) form: Tq = T and the defaults. KV-cache form: Tq new
 * tokens at positions qOffset = pastLen … pastLen + Tq − 1 attend to Tk = pastLen + Tq cached keys, in
 * a cache whose rows are maxT apart.
 */
export interface AttentionDims {
  B: number;
  Tq: number;
  NH: number;
  NKV: number;
  HS: number;
  /** absolute position of query 0; default 0 */
  qOffset?: number;
  /** keys per sequence; default qOffset + Tq */
  Tk?: number;
  /** row capacity of k, v, mask; default Tk */
  maxT?: number;
  /** default 1/√HS */
  scale?: number;
}

export interface AttentionForwardArgs extends AttentionDims {
  q: Tensor; // (B, Tq, NH, HS) f32
  k: Tensor; // (B, maxT, NKV, HS) f32
  v: Tensor; // (B, maxT, NKV, HS) f32
  out: Tensor; // (B, Tq, NH, HS) f32, overwritten
  lse: Tensor; // (B, NH, Tq) f32, overwritten; keep it for the backward
  mask?: Tensor; // (B, maxT) u32, 1 = real key, 0 = padding; omitted: every key is real
}

export interface AttentionBackwardArgs extends AttentionDims {
  q: Tensor; // (B, Tq, NH, HS)
  k: Tensor; // (B, maxT, NKV, HS)
  v: Tensor; // (B, maxT, NKV, HS)
  out: Tensor; // (B, Tq, NH, HS) forward output
  lse: Tensor; // (B, NH, Tq) from the forward
  dout: Tensor; // (B, Tq, NH, HS)
  delta: Tensor; // (B, NH, Tq) scratch: rowsum(dout ⊙ out), overwritten
  dq: Tensor; // (B, Tq, NH, HS), overwritten
  dk: Tensor; // (B, maxT, NKV, HS), overwritten (rows ≥ Tk and masked keys get 0)
  dv: Tensor; // (B, maxT, NKV, HS), overwritten (rows ≥ Tk and masked keys get 0)
  mask?: Tensor; // (B, maxT) u32
}

/** Fills in the defaults and checks the sizes. */
export function resolveAttentionShape(dims: AttentionDims): AttentionShape {
  const { B, Tq, NH, NKV, HS } = dims;
  const qOffset = dims.qOffset ?? 0;
  const Tk = dims.Tk ?? qOffset + Tq;
  const maxT = dims.maxT ?? Tk;
  const scale = dims.scale ?? 1 / Math.sqrt(HS);
  const bad = (what: string) => new StudioError(GpuErrorCode.badArgument, `attention: ${what} (B ${B}, Tq ${Tq}, Tk ${Tk}, maxT ${maxT}, NH ${NH}, NKV ${NKV}, HS ${HS}, qOffset ${qOffset})`);
  for (const [name, x] of Object.entries({ B, Tq, NH, NKV, HS, qOffset, Tk, maxT })) {
    if (!Number.isInteger(x) || x < 0) throw bad(`${name} must be a non-negative integer, got ${x}`);
  }
  if (NKV === 0 || NH % NKV !== 0) throw bad(`NH must be a multiple of NKV`);
  if (HS === 0 || HS > ATTENTION_MAX_HS) throw bad(`HS must be 1…${ATTENTION_MAX_HS}`);
  if (Tk > maxT) throw bad(`Tk exceeds the cache capacity maxT`);
  return { B, Tq, Tk, maxT, NH, NKV, HS, qOffset, scale };
}

function variantOptions(HS: number, masked: boolean) {
  const hsMax = Math.ceil(HS / WG) * WG; // HS rounded up to whole tiles: few variants, DPT ≤ 4
  return { vars: { HS_MAX: String(hsMax), DPT: String(hsMax / WG) }, flags: { MASK: masked }, constants: { WG } };
}

/** The pipeline variants a forward / backward call will use (to compile them ahead of time). */
export function attentionVariants(HS: number, masked: boolean): { forward: KernelSpec<typeof params>; backward: KernelSpec<typeof params>[] } {
  const o = variantOptions(HS, masked);
  return {
    forward: forwardKernel.variant({ entryPoint: 'main', ...o }),
    backward: [dqKernel.variant({ entryPoint: 'main', ...o }), dkdvKernel.variant({ entryPoint: 'main', ...o })],
  };
}

/** out = softmax(q·kᵀ·scale, causal, masked) · v, and lse for the backward. See attention_forward.wgsl. */
export function attentionForward(gpu: Gpu, args: AttentionForwardArgs): void {
  const s = resolveAttentionShape(args);
  const { q, k, v, out, lse, mask } = args;
  checkTensors(s, { q, k, v, out, lse, mask });
  const { forward } = attentionVariants(s.HS, !!mask);
  const buffers = mask ? [q, k, v, out, lse, mask] : [q, k, v, out, lse];
  gpu.dispatch(forward, s, buffers, gpu.grid(s.B * s.Tq * s.NH));
}

/** dq, dk, dv (all overwritten) from dout. Two dispatches: dq and delta, then dk and dv. */
export function attentionBackward(gpu: Gpu, args: AttentionBackwardArgs): void {
  const s = resolveAttentionShape(args);
  const { q, k, v, out, lse, dout, delta, dq, dk, dv, mask } = args;
  checkTensors(s, { q, k, v, out, lse, dout, delta, dq, dk, dv, mask });
  const [dqSpec, dkdvSpec] = attentionVariants(s.HS, !!mask).backward as [KernelSpec<typeof params>, KernelSpec<typeof params>];
  const m = mask ? [mask] : [];
  gpu.dispatch(dqSpec, s, [q, k, v, out, dout, lse, delta, dq, ...m], gpu.grid(s.B * s.Tq * s.NH));
  gpu.dispatch(dkdvSpec, s, [q, k, v, dout, lse, delta, dk, dv, ...m], gpu.grid(s.B * s.maxT * s.NKV));
}

/** Every tensor must be of the right dtype and hold at least the elements the kernels touch. */
function checkTensors(s: AttentionShape, tensors: Record<string, Tensor | undefined>): void {
  const rows = s.B * s.Tq * s.NH * s.HS;
  const cache = s.B * s.maxT * s.NKV * s.HS;
  const stats = s.B * s.NH * s.Tq;
  const need: Record<string, number> = { q: rows, out: rows, dout: rows, dq: rows, k: cache, v: cache, dk: cache, dv: cache, lse: stats, delta: stats, mask: s.B * s.maxT };
  for (const [name, t] of Object.entries(tensors)) {
    if (!t) continue;
    const dtype = name === 'mask' ? 'u32' : 'f32';
    if (t.dtype !== dtype) throw new StudioError(GpuErrorCode.badArgument, `attention: ${name} ('${t.name}') must be ${dtype}, got ${t.dtype}`);
    if (numel(t.shape) < need[name]!) {
      throw new StudioError(GpuErrorCode.badArgument, `attention: ${name} ('${t.name}', shape ${t.shape.join('×')}) holds ${numel(t.shape)} elements but the call needs ${need[name]}`, 'check B, T, NH, NKV, HS and maxT against the tensor');
    }
  }
}
