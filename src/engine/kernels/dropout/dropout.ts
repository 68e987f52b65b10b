import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel, shapeString, tensorBytes } from '../../tensor';
import { dropoutConstants } from './dropout.ref';
import type { DropoutKey } from './dropout.ref';
import source from './dropout.wgsl?raw';

export type { DropoutKey } from './dropout.ref';

const params = { n: 'u32', offset: 'u32', seed: 'u32', step: 'u32', tensor_id: 'u32', threshold: 'u32', scale: 'f32', accumulate: 'u32' } as const;
const kernel = new KernelSource('dropout', source, params);

const WG = 256;

export interface DropoutOptions {
  /** Index of element 0 of these views within the whole tensor, for tensors split by rows (default 0). */
  offset?: number;
  /** Add into the output instead of overwriting (not with an in-place call). */
  accumulate?: boolean;
}

/** The pipeline variant of an entry point (exposed so callers can compile it ahead of time). */
export function dropoutVariant(entry: 'apply' | 'in_place'): KernelSpec<typeof params> {
  return kernel.variant({ entryPoint: entry, constants: { WG } });
}

/**
 * out (n) = (or +=) inp (n) · mask / (1 − p). `inp` and `out` may be the same view (in place, no
 * accumulate) but must not otherwise overlap. Forward and backward are the same operation.
 */
function dropout(gpu: Gpu, inp: Tensor, out: Tensor, n: number, p: number, key: DropoutKey, opts: DropoutOptions): void {
  const { offset = 0, accumulate = false } = opts;
  if (!(p >= 0 && p <= 1)) throw new StudioError(GpuErrorCode.badArgument, `dropout: probability must lie in [0, 1], got ${p}`);
  const { threshold, scale } = dropoutConstants(p);
  for (const t of [inp, out]) {
    if (t.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `dropout: '${t.name}' must be f32, got ${t.dtype}`);
    if (numel(t.shape) < n) throw new StudioError(GpuErrorCode.badArgument, `dropout: '${t.name}' ${shapeString(t.shape)} holds ${numel(t.shape)} elements but the call touches ${n}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + n + 3 > 0xffffffff) throw new StudioError(GpuErrorCode.badArgument, `dropout: element offset ${offset} + count ${n} must stay below 2^32 − 4`);
  const inPlace = inp.buffer === out.buffer && inp.offset === out.offset;
  if (inPlace && accumulate) throw new StudioError(GpuErrorCode.badArgument, `dropout: '${out.name}' cannot be both the input and an accumulated output`);
  if (!inPlace && inp.buffer === out.buffer && inp.offset < out.offset + tensorBytes(out) && out.offset < inp.offset + tensorBytes(inp)) {
    throw new StudioError(GpuErrorCode.badArgument, `dropout: '${inp.name}' and '${out.name}' overlap in one buffer; WebGPU forbids overlapping writable bindings`, 'pass the same view for an in-place call, or distinct tensors');
  }
  if (n === 0 || (inPlace && threshold === 0 && scale === 1)) return; // p = 0 in place: identity, nothing to do
  const values = { n, offset, seed: key.seed >>> 0, step: key.step >>> 0, tensor_id: key.tensorId >>> 0, threshold, scale, accumulate: accumulate ? 1 : 0 };
  const blocks = Math.floor((offset + n + 3) / 4) - Math.floor(offset / 4);
  const grid = gpu.grid(Math.ceil(blocks / WG));
  if (inPlace) gpu.dispatch(dropoutVariant('in_place'), values, [out], grid);
  else gpu.dispatch(dropoutVariant('apply'), values, [inp, out], grid);
}

/** y (n) = x (n) · mask / (1 − p); p = 0 is the identity. */
export function dropoutForward(gpu: Gpu, x: Tensor, y: Tensor, n: number, p: number, key: DropoutKey, opts: DropoutOptions = {}): void {
  dropout(gpu, x, y, n, p, key, opts);
}

/** dx (n) = (or += with accumulate) dy (n) · mask / (1 − p), the mask regenerated from the same key. */
export function dropoutBackward(gpu: Gpu, dy: Tensor, dx: Tensor, n: number, p: number, key: DropoutKey, opts: DropoutOptions = {}): void {
  dropout(gpu, dy, dx, n, p, key, opts);
}
