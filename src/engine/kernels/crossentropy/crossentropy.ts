import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { RowSplitMatrix, Tensor } from '../../tensor';
import { numel, rowParts, rowsView } from '../../tensor';
import type { WeightStorage } from '../../dtype';
import { matmul, matmulVariant } from '../matmul/matmul';
import source from './crossentropy.wgsl?raw';

/**
 * Fused output head + cross entropy for large vocabularies: the (N, V) logits never exist at once.
 * Rows are processed in chunks of `chunkRows`; per chunk the logits (chunkRows, V) live in one scratch
 * buffer, are turned into dlogits in place, and are multiplied back by E into dh.
 *
 * targets[n] is the label of row n itself: shifting labels for next-token prediction (label of row
 * t is token t + 1) is the caller's job. −100 marks a row without a label.
 */

const params = { rows: 'u32', V: 'u32', rowOffset: 'u32', scale: 'f32' } as const;
const kernel = new KernelSource('crossentropy', source, params);
const WG = 256;
const F32_BYTES = 4;

export const IGNORE_INDEX = -100;

export interface CrossEntropyScratch {
  /** f32, at least (chunkRows, V): one chunk's logits, then its dlogits */
  logits: Tensor;
  /**
   * f32, at least (chunkRows, C): staging for a chunk of h and dh rows whose byte offset is not a
   * multiple of minStorageBufferOffsetAlignment (then they cannot be bound directly). Not needed when
   * chunkRows·C·4 and the offsets of h and dh are multiples of it (crossEntropyChunkRows aims for that).
   */
  rows?: Tensor;
}

export interface CrossEntropyArgs {
  /** f32 (N, C): final-normed hidden states */
  h: Tensor;
  /** (V, C): head weight in any weight storage (f32, f16, bf16x2, f16x2) */
  E: RowSplitMatrix;
  /** i32 (N): label of each row (already shifted by the caller), −100 = ignore */
  targets: Tensor;
  /** f32 (N, C): gradient of the loss with respect to h, overwritten (=). Omit for evaluation only. */
  dh?: Tensor;
  /** f32 (N): lse − logit[target] of each row, overwritten (=); 0 for ignored rows */
  lossPerRow: Tensor;
  N: number;
  C: number;
  V: number;
  chunkRows: number;
  /** Multiplies every gradient: 1 / (supervised rows of the whole batch), see countSupervised. */
  scale: number;
  scratch: CrossEntropyScratch;
}

/** The row-kernel variant (exposed so callers can compile it ahead of time). */
export function crossEntropyRowsVariant(writeGrad: boolean): KernelSpec<typeof params> {
  return kernel.variant({ entryPoint: 'rows_main', flags: { ROWS: true, WRITE_GRAD: writeGrad }, constants: { WG } });
}

function sumVariant(): KernelSpec<typeof params> {
  return kernel.variant({ entryPoint: 'sum_main', flags: { SUM: true }, constants: { WG } });
}

/** Every pipeline crossEntropyForwardBackward will use for these sizes, for gpu.preparePipelines. */
export function crossEntropyPipelines(C: number, V: number, storage: WeightStorage, withGrad: boolean): KernelSpec[] {
  const specs: KernelSpec[] = [matmulVariant({ M: 1, N: V, K: C, transB: true, bDtype: storage }), crossEntropyRowsVariant(withGrad), sumVariant()];
  if (withGrad) specs.push(matmulVariant({ M: 1, N: C, K: V, bDtype: storage }));
  return specs;
}

/**
 * Loss and (optionally) dh over all N rows, chunk by chunk. Per chunk: logits = h[chunk] · Eᵀ,
 * then the row kernel (loss terms, dlogits in place), then dh[chunk] = dlogits · E.
 */
export function crossEntropyForwardBackward(gpu: Gpu, args: CrossEntropyArgs): void {
  const { h, E, targets, dh, lossPerRow, N, C, V, chunkRows, scale, scratch } = args;
  checkArgs(gpu, args);
  const parts = rowParts(E);
  const align = gpu.caps.limits.minStorageBufferOffsetAlignment;
  for (let r0 = 0; r0 < N; r0 += chunkRows) {
    const n = Math.min(chunkRows, N - r0);
    const logits = { ...scratch.logits, shape: [n, V] };
    // h rows: bound directly when their offset allows, else copied to the staging rows first.
    let hRows = rowsView(h, r0, n, C);
    if (hRows.offset % align !== 0) {
      const staged = stagingRows(scratch, n, C, 'h');
      gpu.copy(hRows, staged);
      hRows = staged;
    }
    // Each row part of the head writes its block of logit columns.
    for (const part of parts) matmul(gpu, { a: hRows, b: part.tensor, c: logits, M: n, N: part.rows, K: C, transB: true, offsetC: part.rowStart, ldc: V });
    crossEntropyRows(gpu, { logits, targets, lossPerRow, rows: n, V, rowOffset: r0, scale, writeGrad: dh !== undefined });
    if (!dh) continue;
    const dhRows = rowsView(dh, r0, n, C);
    const target = dhRows.offset % align === 0 ? dhRows : stagingRows(scratch, n, C, 'dh');
    // dh = Σ over parts of dlogits[:, part columns] · E_part
    parts.forEach((part, i) => matmul(gpu, { a: logits, b: part.tensor, c: target, M: n, N: C, K: part.rows, offsetA: part.rowStart, lda: V, accumulate: i > 0 }));
    if (target !== dhRows) gpu.copy(target, dhRows);
  }
}

export interface CrossEntropyRowsArgs {
  /** f32 (rows, V): logits of the chunk; dlogits on return when writeGrad */
  logits: Tensor;
  /** i32 (N): labels of the whole batch */
  targets: Tensor;
  /** f32 (N): per-row losses of the whole batch; rows [rowOffset, rowOffset + rows) are written */
  lossPerRow: Tensor;
  rows: number;
  V: number;
  rowOffset: number;
  scale: number;
  writeGrad: boolean;
}

/** The row piece alone: loss terms of a chunk of logits and, with writeGrad, dlogits in place. */
export function crossEntropyRows(gpu: Gpu, a: CrossEntropyRowsArgs): void {
  gpu.dispatch(crossEntropyRowsVariant(a.writeGrad), { rows: a.rows, V: a.V, rowOffset: a.rowOffset, scale: a.scale }, [a.logits, a.targets, a.lossPerRow], gpu.grid(a.rows));
}

/** total (1) f32 = scale · Σ lossPerRow (N) — with scale = 1/supervised rows, the mean loss (=). */
export function crossEntropyLossSum(gpu: Gpu, lossPerRow: Tensor, total: Tensor, N: number, scale: number): void {
  if (numel(lossPerRow.shape) < N || numel(total.shape) < 1) throw new StudioError(GpuErrorCode.badArgument, `crossEntropyLossSum: '${lossPerRow.name}' must hold ${N} values and '${total.name}' one`);
  gpu.dispatch(sumVariant(), { rows: N, V: 0, rowOffset: 0, scale }, [lossPerRow, total], [1]);
}

/**
 * Rows with a label, after checking every label: the caller's gradient scale is 1 / this count (the
 * mean over the supervised tokens of the whole batch, as torch's CrossEntropyLoss). A label that is
 * neither −100 nor in [0, V) is refused with its position.
 */
export function countSupervised(targets: ArrayLike<number>, V: number): number {
  let count = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (t === IGNORE_INDEX) continue;
    if (!Number.isInteger(t) || t < 0 || t >= V) {
      throw new StudioError(GpuErrorCode.badArgument, `cross entropy: label ${t} at row ${i} is outside the vocabulary [0, ${V}) and is not the ignore index ${IGNORE_INDEX}`, 'check that the tokenizer matches the model');
    }
    count++;
  }
  return count;
}

export interface ChunkBudget {
  N: number;
  C: number;
  V: number;
  /** Bytes the scratch (logits + staging rows) may take. */
  budgetBytes: number;
  /** The device's maxStorageBufferBindingSize: one chunk's logits must fit one binding. */
  maxBindingBytes: number;
  /** The device's minStorageBufferOffsetAlignment (default 256). */
  offsetAlignment?: number;
}

/**
 * The largest chunk whose scratch fits the budget and whose logits fit one binding, at least 1 and at
 * most N. When possible it is rounded down so that chunkRows·C·4 is a multiple of the offset
 * alignment: then h and dh chunks are bound in place and no staging copies are made.
 */
export function crossEntropyChunkRows(b: ChunkBudget): number {
  const perRow = (b.V + b.C) * F32_BYTES;
  let rows = Math.min(Math.floor(b.budgetBytes / perRow), Math.floor(b.maxBindingBytes / (b.V * F32_BYTES)), b.N);
  rows = Math.max(1, rows);
  const align = b.offsetAlignment ?? 256;
  const granule = align / gcd(b.C * F32_BYTES, align);
  if (rows < b.N && rows >= granule) rows -= rows % granule;
  return rows;
}

/** Bytes of scratch a chunk size needs (what the memory estimate should count). */
export function crossEntropyScratchBytes(chunkRows: number, C: number, V: number): number {
  return chunkRows * (V + C) * F32_BYTES;
}

export async function createCrossEntropyScratch(gpu: Gpu, chunkRows: number, C: number, V: number): Promise<CrossEntropyScratch> {
  return {
    logits: await gpu.createTensor('ce-logits', [chunkRows, V]),
    rows: await gpu.createTensor('ce-rows', [chunkRows, C]),
  };
}

// ---------------------------------------------------------------- internals

function stagingRows(scratch: CrossEntropyScratch, n: number, C: number, what: string): Tensor {
  if (!scratch.rows || numel(scratch.rows.shape) < n * C) {
    throw new StudioError(GpuErrorCode.badArgument, `cross entropy: chunks of ${what} rows are not aligned for binding and scratch.rows is missing or holds fewer than ${n}×${C} values`, 'allocate the scratch with createCrossEntropyScratch, or choose chunkRows with crossEntropyChunkRows');
  }
  return { ...scratch.rows, shape: [n, C] };
}

function checkArgs(gpu: Gpu, a: CrossEntropyArgs): void {
  const bad = (msg: string) => new StudioError(GpuErrorCode.badArgument, `cross entropy: ${msg}`);
  const { N, C, V, chunkRows } = a;
  if (!(Number.isInteger(chunkRows) && chunkRows >= 1)) throw bad(`chunkRows must be a positive integer, got ${chunkRows}`);
  if (a.h.dtype !== 'f32' || a.lossPerRow.dtype !== 'f32' || (a.dh && a.dh.dtype !== 'f32') || a.scratch.logits.dtype !== 'f32') throw bad('h, dh, lossPerRow and scratch must be f32');
  if (a.targets.dtype !== 'i32') throw bad(`targets '${a.targets.name}' must be i32, got ${a.targets.dtype}`);
  const parts = rowParts(a.E);
  if (parts.reduce((sum, p) => sum + p.rows, 0) !== V) throw bad(`the head's row parts cover ${parts.reduce((sum, p) => sum + p.rows, 0)} rows, not V = ${V}`);
  const need: [Tensor | undefined, number][] = [[a.h, N * C], ...parts.map((p): [Tensor, number] => [p.tensor, p.rows * C]), [a.targets, N], [a.lossPerRow, N], [a.dh, N * C], [a.scratch.logits, Math.min(chunkRows, N) * V]];
  for (const [t, count] of need) {
    if (t && numel(t.shape) < count) throw bad(`'${t.name}' (shape ${t.shape.join('×')}) holds fewer than the ${count} values the call needs`);
  }
  const logitBytes = Math.min(chunkRows, N) * V * F32_BYTES;
  if (logitBytes > gpu.caps.limits.maxStorageBufferBindingSize) {
    throw new StudioError(GpuErrorCode.tooLarge, `cross entropy: a chunk of ${chunkRows} rows × ${V} logits (${logitBytes} bytes) exceeds one binding on this device`, 'choose chunkRows with crossEntropyChunkRows');
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
