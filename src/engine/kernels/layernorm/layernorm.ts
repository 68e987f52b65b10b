import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import { maxPartials, partialPlan, rowWorkgroupSize } from '../rmsnorm/rmsnorm';
import source from './layernorm.wgsl?raw';

const forwardKernel = new KernelSource('layernorm', source, { N: 'u32', C: 'u32', eps: 'f32' } as const);
const backwardKernel = new KernelSource('layernorm', source, { N: 'u32', C: 'u32', eps: 'f32', rowsPerGroup: 'u32', P: 'u32', accumulate: 'u32' } as const);
const reduceKernel = new KernelSource('layernorm', source, { C: 'u32', P: 'u32' } as const);

const REDUCE_WG = 64;

/** f32 elements of the scratch tensor layernormBackward needs for any call of up to N rows of width C (at most 512·C; see maxPartials). */
export function layernormScratchElements(N: number, C: number): number {
  return 2 * maxPartials(N) * C;
}

export interface LayernormForwardArgs {
  x: Tensor; // (N, C) f32
  w: Tensor; // (C) f32
  b: Tensor; // (C) f32
  y: Tensor; // (N, C) f32, overwritten; a different buffer range than x
  N: number;
  C: number;
  eps: number;
}

/** y = (x − mean) / sqrt(var + eps) · w + b, row by row (biased variance, as torch.nn.LayerNorm). */
export function layernormForward(gpu: Gpu, a: LayernormForwardArgs): void {
  for (const [n, t, e] of [['x', a.x, a.N * a.C], ['w', a.w, a.C], ['b', a.b, a.C], ['y', a.y, a.N * a.C]] as const) check(n, t, e);
  const spec = forwardKernel.variant({ entryPoint: 'forward', flags: { FORWARD: true }, constants: { WG: rowWorkgroupSize(a.C) } });
  gpu.dispatch(spec, { N: a.N, C: a.C, eps: a.eps }, [a.x, a.w, a.b, a.y], gpu.grid(a.N));
}

export interface LayernormBackwardArgs {
  x: Tensor; // (N, C) f32, the forward input
  w: Tensor; // (C) f32
  dy: Tensor; // (N, C) f32
  dx: Tensor; // (N, C) f32, overwritten, or added to when accumulateDx
  dw: Tensor; // (C) f32, always accumulated (+=)
  db: Tensor; // (C) f32, always accumulated (+=)
  /** f32, at least layernormScratchElements(N, C) elements; clobbered. */
  scratch: Tensor;
  N: number;
  C: number;
  eps: number;
  accumulateDx?: boolean;
}

/** dx (=|+=), dw (+=) and db (+=) of layernormForward; mean and rstd are recomputed from x. */
export function layernormBackward(gpu: Gpu, a: LayernormBackwardArgs): void {
  const { N, C } = a;
  for (const [n, t, e] of [['x', a.x, N * C], ['w', a.w, C], ['dy', a.dy, N * C], ['dx', a.dx, N * C], ['dw', a.dw, C], ['db', a.db, C], ['scratch', a.scratch, layernormScratchElements(N, C)]] as const) check(n, t, e);
  if (N === 0 || C === 0) return;
  const { rowsPerGroup, P } = partialPlan(N);
  const rows = backwardKernel.variant({ entryPoint: 'backward_rows', flags: { BACKWARD_ROWS: true }, constants: { WG: rowWorkgroupSize(C) } });
  gpu.dispatch(rows, { N, C, eps: a.eps, rowsPerGroup, P, accumulate: a.accumulateDx ? 1 : 0 }, [a.x, a.w, a.dy, a.dx, a.scratch], [P]);
  const reduce = reduceKernel.variant({ entryPoint: 'reduce_dwdb', flags: { REDUCE_DWDB: true }, constants: { WG: REDUCE_WG } });
  gpu.dispatch(reduce, { C, P }, [a.scratch, a.dw, a.db], [Math.ceil(C / REDUCE_WG)]);
}

function check(name: string, t: Tensor, needed: number): void {
  if (t.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `layernorm: ${name} ('${t.name}') must be f32, got ${t.dtype}`);
  if (numel(t.shape) < needed) throw new StudioError(GpuErrorCode.badArgument, `layernorm: ${name} ('${t.name}', shape ${t.shape.join('×')}) holds ${numel(t.shape)} elements but the call needs ${needed}`);
}
