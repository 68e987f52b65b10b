import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel, shapeString, tensorBytes } from '../../tensor';
import source from './rowstats.wgsl?raw';

/**
 * Per-row statistics of (N, C) tensors for visualisation. Outputs (N) are overwritten. Undefined
 * ratios are 0 (see rowstats.wgsl). Tensors of one call must not overlap (all bindings are writable).
 */
const params = { N: 'u32', C: 'u32' } as const;
const kernel = new KernelSource('rowstats', source, params);

/** Power of two (tree reduction); 256 works on every device. */
const WG = 256;

type Entry = 'norm_mean' | 'cosine' | 'rel_diff_norm';

/** The pipeline variant of an entry point (exposed so callers can compile it ahead of time). */
export function rowstatsVariant(entry: Entry): KernelSpec<typeof params> {
  return kernel.variant({ entryPoint: entry, constants: { WG } });
}

function run(gpu: Gpu, entry: Entry, inputs: readonly Tensor[], outputs: readonly Tensor[], N: number, C: number): void {
  if (!Number.isInteger(N) || !Number.isInteger(C) || N < 0 || C < 1) throw new StudioError(GpuErrorCode.badArgument, `rowstats ${entry}: need integer N ≥ 0 and C ≥ 1, got N ${N}, C ${C}`);
  const all = [...inputs, ...outputs];
  all.forEach((t, i) => {
    const need = i < inputs.length ? N * C : N;
    if (t.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `rowstats ${entry}: '${t.name}' must be f32, got ${t.dtype}`);
    if (numel(t.shape) < need) throw new StudioError(GpuErrorCode.badArgument, `rowstats ${entry}: '${t.name}' ${shapeString(t.shape)} holds ${numel(t.shape)} elements but the call needs ${need} (N ${N}, C ${C})`);
    for (const u of all.slice(i + 1)) {
      if (t.buffer === u.buffer && t.offset < u.offset + tensorBytes(u) && u.offset < t.offset + tensorBytes(t)) {
        throw new StudioError(GpuErrorCode.badArgument, `rowstats ${entry}: '${t.name}' and '${u.name}' overlap in one buffer; WebGPU forbids overlapping writable bindings`, 'pass distinct tensors (copy one first if need be)');
      }
    }
  });
  if (N === 0) return;
  gpu.dispatch(rowstatsVariant(entry), { N, C }, all, gpu.grid(N));
}

/** norm (N) = ‖x_r‖₂ and mean (N) = mean of x_r, for x (N, C). */
export function rowNormMean(gpu: Gpu, x: Tensor, norm: Tensor, mean: Tensor, N: number, C: number): void {
  run(gpu, 'norm_mean', [x], [norm, mean], N, C);
}

/** cos (N) = cosine similarity of row r of x (N, C) with row r of y (N, C); 0 when either row is all zero. */
export function rowCosine(gpu: Gpu, x: Tensor, y: Tensor, cos: Tensor, N: number, C: number): void {
  run(gpu, 'cosine', [x, y], [cos], N, C);
}

/** rel (N) = ‖a_r − b_r‖ / ‖c_r‖ for a, b, c (N, C); 0 when c_r is all zero. */
export function rowRelDiffNorm(gpu: Gpu, a: Tensor, b: Tensor, c: Tensor, rel: Tensor, N: number, C: number): void {
  run(gpu, 'rel_diff_norm', [a, b, c], [rel], N, C);
}
