import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import source from './gradnorm.wgsl?raw';

/**
 * Global gradient norm, clip scale and non-finite check, all on the GPU so that a training step needs
 * no readback before the optimizer: the AdamW kernel reads the clip scale from its 1-element buffer.
 * The loop reads `norm` (and `nonFinite`) back once per step for logging and its NaN guard.
 */

const params = { n: 'u32', partialOffset: 'u32', maxNorm: 'f32', clip: 'u32' } as const;
const kernel = new KernelSource('gradnorm', source, params);
const WG = 256;
const ITEMS = 8;
/** Elements one partial-sum workgroup covers. */
const SPAN = WG * ITEMS;

export function gradNormVariants(): { partial: KernelSpec<typeof params>; final: KernelSpec<typeof params>; clip: KernelSpec<typeof params> } {
  return {
    partial: kernel.variant({ entryPoint: 'partial_main', flags: { PARTIAL: true }, constants: { WG, ITEMS } }),
    final: kernel.variant({ entryPoint: 'final_main', flags: { FINAL: true }, constants: { WG } }),
    clip: kernel.variant({ entryPoint: 'clip_main', flags: { CLIP: true }, constants: { WG } }),
  };
}

/** Length of the partials scratch sumOfSquares needs for tensors of these element counts. */
export function gradNormPartialCount(sizes: readonly number[]): number {
  return sizes.reduce((sum, n) => sum + Math.ceil(n / SPAN), 0);
}

export interface SumOfSquaresScratch {
  /** f32 (≥ gradNormPartialCount(sizes)): one partial sum per workgroup, overwritten */
  partials: Tensor;
  /** u32 (1): set to 1 when any element is NaN or ±Inf; only ever set here, the caller clears it */
  nonFinite: Tensor;
}

/**
 * out[0] += Σ over all tensors of Σ x² (two stages: per-workgroup partials, then one final pass), and
 * flags non-finite elements. Each tensor is f32; all of its elements count.
 */
export function sumOfSquares(gpu: Gpu, tensors: readonly Tensor[], out: Tensor, scratch: SumOfSquaresScratch): void {
  const v = gradNormVariants();
  const need = gradNormPartialCount(tensors.map((t) => numel(t.shape)));
  if (numel(scratch.partials.shape) < need) throw bad(`partials '${scratch.partials.name}' holds ${numel(scratch.partials.shape)} values, these tensors need ${need} (gradNormPartialCount)`);
  if (scratch.nonFinite.dtype !== 'u32' || out.dtype !== 'f32') throw bad(`nonFinite must be u32 and out f32, got ${scratch.nonFinite.dtype} and ${out.dtype}`);
  let offset = 0;
  for (const t of tensors) {
    const n = numel(t.shape);
    if (t.dtype !== 'f32') throw bad(`gradient '${t.name}' must be f32, got ${t.dtype}`);
    if (n === 0) continue;
    const groups = Math.ceil(n / SPAN);
    gpu.dispatch(v.partial, { n, partialOffset: offset, maxNorm: 0, clip: 0 }, [t, scratch.partials, scratch.nonFinite], gpu.grid(groups));
    offset += groups;
  }
  if (offset === 0) return;
  gpu.dispatch(v.final, { n: offset, partialOffset: 0, maxNorm: 0, clip: 0 }, [scratch.partials, out], [1]);
}

/**
 * norm (1) = sqrt(sumSq (1)); scale (1) = min(maxNorm / (norm + 1e-6), 1) as clip_grad_norm_ computes
 * it, or 1 when maxNorm is undefined (no clipping, the norm is still measured). nonFinite (1) u32 is
 * set to 1 when the norm is NaN or Inf.
 */
export function clipGradScale(gpu: Gpu, a: { sumSq: Tensor; norm: Tensor; scale: Tensor; nonFinite: Tensor; maxNorm?: number }): void {
  if (a.maxNorm !== undefined && !(a.maxNorm > 0 && Number.isFinite(a.maxNorm))) throw bad(`maxNorm must be a positive finite number or undefined (no clipping), got ${a.maxNorm}`);
  gpu.dispatch(gradNormVariants().clip, { n: 0, partialOffset: 0, maxNorm: a.maxNorm ?? 0, clip: a.maxNorm === undefined ? 0 : 1 }, [a.sumSq, a.norm, a.scale, a.nonFinite], [1]);
}

/** The GPU-side state of one step's norm and clip. */
export interface GradNormState {
  /** f32 (gradNormPartialCount(sizes)) */
  partials: Tensor;
  /** f32 (1): Σ x² over every gradient */
  sumSq: Tensor;
  /** f32 (1): the global L2 norm, what the loop reads back for logging */
  norm: Tensor;
  /** f32 (1): the clip scale AdamW multiplies the gradients by */
  scale: Tensor;
  /**
   * u32 (1): 1 when any gradient element was NaN or ±Inf, or the norm overflowed. Passed to AdamW as
   * skipIfSet, the update is skipped on the GPU without waiting for a readback.
   */
  nonFinite: Tensor;
}

export async function createGradNormState(gpu: Gpu, sizes: readonly number[]): Promise<GradNormState> {
  return {
    partials: await gpu.createTensor('gradnorm-partials', [Math.max(1, gradNormPartialCount(sizes))]),
    sumSq: await gpu.createTensor('gradnorm-sumsq', [1]),
    norm: await gpu.createTensor('gradnorm-norm', [1]),
    scale: await gpu.createTensor('gradnorm-scale', [1]),
    nonFinite: await gpu.createTensor('gradnorm-nonfinite', [1], 'u32'),
  };
}

/** One step's whole measurement: clears the sum and the flag, sums every gradient, computes norm, scale and flag. */
export function globalGradNorm(gpu: Gpu, tensors: readonly Tensor[], state: GradNormState, maxNorm?: number): void {
  gpu.zero(state.sumSq);
  gpu.zero(state.nonFinite);
  sumOfSquares(gpu, tensors, state.sumSq, state);
  clipGradScale(gpu, { sumSq: state.sumSq, norm: state.norm, scale: state.scale, nonFinite: state.nonFinite, maxNorm });
}

function bad(msg: string): StudioError {
  return new StudioError(GpuErrorCode.badArgument, `gradnorm: ${msg}`);
}
