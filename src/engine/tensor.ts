import type { DType } from './dtype';
import { byteSize } from './dtype';

/**
 * A view of part of a GPU buffer: where it starts, what it holds and its logical shape.
 * Views never own their buffer; arenas and pools do.
 */
export interface Tensor {
  readonly buffer: GPUBuffer;
  /** Byte offset inside `buffer`, a multiple of the device's minStorageBufferOffsetAlignment. */
  readonly offset: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** A readable name, used in error messages and debugging. */
  readonly name: string;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensorBytes(t: Pick<Tensor, 'shape' | 'dtype'>): number {
  return byteSize(t.dtype, numel(t.shape));
}

/** Binding resource of a view, sized to the whole words it covers (WebGPU needs multiples of 4). */
export function binding(t: Tensor): GPUBufferBinding {
  const size = Math.ceil(tensorBytes(t) / 4) * 4;
  return { buffer: t.buffer, offset: t.offset, size: Math.max(size, 4) };
}

/**
 * Rows [r0, r0 + n) of an f32 matrix with `cols` columns, as a view. Its byte offset need not be
 * aligned for binding: use it for copies and reads, or bind it only when the offset allows.
 */
export function rowsView(t: Tensor, r0: number, n: number, cols: number): Tensor {
  return { ...t, offset: t.offset + r0 * cols * 4, shape: [n, cols], name: `${t.name}[${r0}:${r0 + n}]` };
}

/** Same storage, another shape with the same element count. */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== numel(t.shape)) {
    throw new Error(`reshape of ${t.name}: ${t.shape.join('×')} has ${numel(t.shape)} elements, ${shape.join('×')} has ${numel(shape)}`);
  }
  return { ...t, shape: [...shape] };
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/**
 * A matrix too large for one storage binding, split by rows into parts that each fit
 * (maxStorageBufferBindingSize). Kernels that take one loop over the parts: the embedding gathers
 * from each, the head writes each part's block of logit columns.
 */
export interface RowPart {
  tensor: Tensor; // (rows, cols)
  rowStart: number;
  rows: number;
}

/** A whole matrix or its row parts: code that takes either iterates `rowParts(m)`. */
export type RowSplitMatrix = Tensor | readonly RowPart[];

export function rowParts(m: RowSplitMatrix): readonly RowPart[] {
  return 'buffer' in m ? [{ tensor: m, rowStart: 0, rows: m.shape[0]! }] : m;
}

/**
 * The distinct GPU buffers of every tensor found in `value`: a tensor, a raw GPUBuffer, or arrays and
 * plain objects of them, nested (workspaces are such records). Class instances are not entered: they
 * free their own. Gpu.release frees what this finds.
 */
export function buffersOf(value: unknown, out = new Set<GPUBuffer>()): Set<GPUBuffer> {
  if (value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    for (const v of value) buffersOf(v, out);
    return out;
  }
  if (isGpuBuffer(value)) {
    out.add(value);
    return out;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return out;
  const t = value as Partial<Tensor>;
  if (t.buffer && typeof t.offset === 'number' && Array.isArray(t.shape)) {
    out.add(t.buffer);
    return out;
  }
  for (const v of Object.values(value)) buffersOf(v, out);
  return out;
}

function isGpuBuffer(v: object): v is GPUBuffer {
  const b = v as Partial<GPUBuffer>;
  return typeof b.destroy === 'function' && typeof b.mapAsync === 'function' && typeof b.size === 'number';
}
