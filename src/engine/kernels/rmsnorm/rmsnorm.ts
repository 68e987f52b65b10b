import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import source from './rmsnorm.wgsl?raw';

const forwardKernel = new KernelSource('rmsnorm', source, { N: 'u32', C: 'u32', eps: 'f32' } as const);
const backwardKernel = new KernelSource('rmsnorm', source, { N: 'u32', C: 'u32', eps: 'f32', rowsPerGroup: 'u32', accumulate: 'u32' } as const);
const reduceKernel = new KernelSource('rmsnorm', source, { C: 'u32', P: 'u32' } as const);

/** Most partial rows a backward pass writes: bounds the scratch at MAX_PARTIALS·C while keeping enough workgroups busy. */
export const MAX_PARTIALS = 256;
const REDUCE_WG = 64;

/** Threads per row: short rows (q/k norm over HS) waste less of a smaller workgroup. */
export function rowWorkgroupSize(C: number): number {
  return C <= 256 ? 64 : 256;
}

/** How the backward pass splits N rows into chunks, one workgroup and one partial row each. */
export function partialPlan(N: number): { rowsPerGroup: number; P: number } {
  const rowsPerGroup = Math.max(1, Math.ceil(N / MAX_PARTIALS));
  return { rowsPerGroup, P: Math.ceil(N / rowsPerGroup) };
}

/**
 * Most partial rows partialPlan writes for any call of up to N rows: min(N, MAX_PARTIALS). Not
 * partialPlan(N).P, which is not monotonic in N (P(300) = 150 but P(256) = 256): a workspace sized
 * for its largest batch must also serve every smaller one (the last partial batch, evaluation).
 */
export function maxPartials(N: number): number {
  return Math.min(N, MAX_PARTIALS);
}

/** f32 elements of the scratch tensor rmsnormBackward needs for any call of up to N rows of width C (at most 256·C). */
export function rmsnormScratchElements(N: number, C: number): number {
  return maxPartials(N) * C;
}

export interface RmsnormForwardArgs {
  x: Tensor; // (N, C) f32
  w: Tensor; // (C) f32
  y: Tensor; // (N, C) f32, overwritten; a different buffer range than x
  N: number;
  C: number;
  eps: number;
}

/** y = w · x / sqrt(mean(x²) + eps), row by row. */
export function rmsnormForward(gpu: Gpu, a: RmsnormForwardArgs): void {
  check('x', a.x, a.N * a.C);
  check('w', a.w, a.C);
  check('y', a.y, a.N * a.C);
  const spec = forwardKernel.variant({ entryPoint: 'forward', flags: { FORWARD: true }, constants: { WG: rowWorkgroupSize(a.C) } });
  gpu.dispatch(spec, { N: a.N, C: a.C, eps: a.eps }, [a.x, a.w, a.y], gpu.grid(a.N));
}

export interface RmsnormBackwardArgs {
  x: Tensor; // (N, C) f32, the forward input
  w: Tensor; // (C) f32
  dy: Tensor; // (N, C) f32
  dx: Tensor; // (N, C) f32, overwritten, or added to when accumulateDx
  dw: Tensor; // (C) f32, always accumulated (+=)
  /** f32, at least rmsnormScratchElements(N, C) elements; clobbered. */
  scratch: Tensor;
  N: number;
  C: number;
  eps: number;
  accumulateDx?: boolean;
}

/** dx (=|+=) and dw (+=) of rmsnormForward; rstd is recomputed from x (nothing is saved by the forward). */
export function rmsnormBackward(gpu: Gpu, a: RmsnormBackwardArgs): void {
  const { N, C } = a;
  for (const [n, t, e] of [['x', a.x, N * C], ['w', a.w, C], ['dy', a.dy, N * C], ['dx', a.dx, N * C], ['dw', a.dw, C], ['scratch', a.scratch, rmsnormScratchElements(N, C)]] as const) check(n, t, e);
  if (N === 0 || C === 0) return;
  const { rowsPerGroup, P } = partialPlan(N);
  const rows = backwardKernel.variant({ entryPoint: 'backward_rows', flags: { BACKWARD_ROWS: true }, constants: { WG: rowWorkgroupSize(C) } });
  gpu.dispatch(rows, { N, C, eps: a.eps, rowsPerGroup, accumulate: a.accumulateDx ? 1 : 0 }, [a.x, a.w, a.dy, a.dx, a.scratch], [P]);
  const reduce = reduceKernel.variant({ entryPoint: 'reduce_dw', flags: { REDUCE_DW: true }, constants: { WG: REDUCE_WG } });
  gpu.dispatch(reduce, { C, P }, [a.scratch, a.dw], [Math.ceil(C / REDUCE_WG)]);
}

function check(name: string, t: Tensor, needed: number): void {
  if (t.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `rmsnorm: ${name} ('${t.name}') must be f32, got ${t.dtype}`);
  if (numel(t.shape) < needed) throw new StudioError(GpuErrorCode.badArgument, `rmsnorm: ${name} ('${t.name}', shape ${t.shape.join('×')}) holds ${numel(t.shape)} elements but the call needs ${needed}`);
}
