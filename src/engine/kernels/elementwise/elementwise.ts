import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel, shapeString, tensorBytes } from '../../tensor';
import source from './elementwise.wgsl?raw';

/**
 * Elementwise f32 ops over the first `n` elements of flat views (any shape). Views of one arena buffer
 * may be mixed freely, but the tensors of one call must not overlap (every binding is writable, see
 * elementwise.wgsl): in-place updates go through addScaledInPlace / scaleInPlace.
 */
const params = { n: 'u32', alpha: 'f32', accumulate: 'u32' } as const;
const kernel = new KernelSource('elementwise', source, params);

const WG = 256;

export type ElementwiseEntry =
  | 'add'
  | 'sub'
  | 'scale'
  | 'scale_in_place'
  | 'axpy'
  | 'silu_forward'
  | 'silu_backward'
  | 'sigmoid_forward'
  | 'sigmoid_backward'
  | 'swiglu_forward'
  | 'swiglu_backward'
  | 'gated_mix_forward'
  | 'gated_mix_backward';

/** The one pipeline variant of an entry point (exposed so callers can compile it ahead of time). */
export function elementwiseVariant(entry: ElementwiseEntry): KernelSpec<typeof params> {
  return kernel.variant({ entryPoint: entry, constants: { WG } });
}

function run(gpu: Gpu, entry: ElementwiseEntry, tensors: readonly Tensor[], n: number, alpha = 0, accumulate = 0): void {
  if (!Number.isInteger(n) || n < 0) throw new StudioError(GpuErrorCode.badArgument, `elementwise ${entry}: element count must be a non-negative integer, got ${n}`);
  for (const t of tensors) {
    if (t.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `elementwise ${entry}: '${t.name}' must be f32, got ${t.dtype}`);
    if (numel(t.shape) < n) throw new StudioError(GpuErrorCode.badArgument, `elementwise ${entry}: '${t.name}' ${shapeString(t.shape)} holds ${numel(t.shape)} elements but the call touches ${n}`);
  }
  checkNoOverlap(entry, tensors);
  if (n === 0) return;
  gpu.dispatch(elementwiseVariant(entry), { n, alpha, accumulate }, tensors, gpu.grid(Math.ceil(n / WG)));
}

/** WebGPU rejects overlapping writable bindings at submit time with a vague error; say which tensors here. */
function checkNoOverlap(entry: string, tensors: readonly Tensor[]): void {
  for (let i = 0; i < tensors.length; i++) {
    for (let j = i + 1; j < tensors.length; j++) {
      const a = tensors[i]!;
      const b = tensors[j]!;
      if (a.buffer === b.buffer && a.offset < b.offset + tensorBytes(b) && b.offset < a.offset + tensorBytes(a)) {
        throw new StudioError(GpuErrorCode.badArgument, `elementwise ${entry}: '${a.name}' and '${b.name}' overlap in one buffer; WebGPU forbids overlapping writable bindings`, 'pass distinct tensors, or use addScaledInPlace / scaleInPlace for in-place updates');
      }
    }
  }
}

// ---------------------------------------------------------------- arithmetic

/** out (n) = a (n) + b (n) */
export function addForward(gpu: Gpu, a: Tensor, b: Tensor, out: Tensor, n: number): void {
  run(gpu, 'add', [a, b, out], n);
}

/** out (n) = a (n) − b (n) */
export function subForward(gpu: Gpu, a: Tensor, b: Tensor, out: Tensor, n: number): void {
  run(gpu, 'sub', [a, b, out], n);
}

/** out (n) = s · a (n) */
export function scaleForward(gpu: Gpu, a: Tensor, out: Tensor, n: number, s: number): void {
  run(gpu, 'scale', [a, out], n, s);
}

/** y (n) *= s */
export function scaleInPlace(gpu: Gpu, y: Tensor, n: number, s: number): void {
  run(gpu, 'scale_in_place', [y], n, s);
}

/** y (n) += s · x (n): residual adds and gradient accumulation. */
export function addScaledInPlace(gpu: Gpu, y: Tensor, x: Tensor, n: number, s = 1): void {
  run(gpu, 'axpy', [x, y], n, s);
}

// ---------------------------------------------------------------- activations

/** y (n) = x·σ(x), x (n) */
export function siluForward(gpu: Gpu, x: Tensor, y: Tensor, n: number): void {
  run(gpu, 'silu_forward', [x, y], n);
}

/** dx (n) = (or += when accumulate) dy (n) · σ(x)(1 + x(1 − σ(x))), x (n) the forward input. */
export function siluBackward(gpu: Gpu, x: Tensor, dy: Tensor, dx: Tensor, n: number, accumulate = false): void {
  run(gpu, 'silu_backward', [x, dy, dx], n, 0, accumulate ? 1 : 0);
}

/** y (n) = σ(x), x (n) */
export function sigmoidForward(gpu: Gpu, x: Tensor, y: Tensor, n: number): void {
  run(gpu, 'sigmoid_forward', [x, y], n);
}

/** dx (n) = (or += when accumulate) dy (n) · y(1 − y), where y (n) = σ(x) is the saved forward OUTPUT. */
export function sigmoidBackward(gpu: Gpu, y: Tensor, dy: Tensor, dx: Tensor, n: number, accumulate = false): void {
  run(gpu, 'sigmoid_backward', [y, dy, dx], n, 0, accumulate ? 1 : 0);
}

/** y (n) = silu(g) ⊙ u; g (n) gate projection, u (n) up projection. */
export function swigluForward(gpu: Gpu, g: Tensor, u: Tensor, y: Tensor, n: number): void {
  run(gpu, 'swiglu_forward', [g, u, y], n);
}

export interface SwigluBackwardArgs {
  g: Tensor; // (n) forward gate input
  u: Tensor; // (n) forward up input
  dy: Tensor; // (n)
  dg: Tensor; // (n) = dy·u·silu'(g)
  du: Tensor; // (n) = dy·silu(g)
  n: number;
  /** Accumulate (+=) into dg / du instead of overwriting. */
  accumulate?: { dg?: boolean; du?: boolean };
}

export function swigluBackward(gpu: Gpu, args: SwigluBackwardArgs): void {
  const { g, u, dy, dg, du, n, accumulate = {} } = args;
  run(gpu, 'swiglu_backward', [g, u, dy, dg, du], n, 0, (accumulate.dg ? 1 : 0) | (accumulate.du ? 2 : 0));
}

// ---------------------------------------------------------------- gated mix (ShadowPEFT state update)

/** out (n) = s + γ ⊙ (t − s); s, gamma, t (n). */
export function gatedMixForward(gpu: Gpu, s: Tensor, gamma: Tensor, t: Tensor, out: Tensor, n: number): void {
  run(gpu, 'gated_mix_forward', [s, gamma, t, out], n);
}

export interface GatedMixBackwardArgs {
  s: Tensor; // (n) forward inputs
  gamma: Tensor; // (n)
  t: Tensor; // (n)
  dOut: Tensor; // (n)
  dS: Tensor; // (n) = dOut·(1 − γ)
  dGamma: Tensor; // (n) = dOut·(t − s)
  dT: Tensor; // (n) = dOut·γ
  n: number;
  /** Accumulate (+=) into the named gradients instead of overwriting (the state s feeds several consumers). */
  accumulate?: { dS?: boolean; dGamma?: boolean; dT?: boolean };
}

export function gatedMixBackward(gpu: Gpu, args: GatedMixBackwardArgs): void {
  const { s, gamma, t, dOut, dS, dGamma, dT, n, accumulate = {} } = args;
  const mask = (accumulate.dS ? 1 : 0) | (accumulate.dGamma ? 2 : 0) | (accumulate.dT ? 4 : 0);
  run(gpu, 'gated_mix_backward', [s, gamma, t, dOut, dS, dGamma, dT], n, 0, mask);
}
