import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import source from './embeddingBackward.wgsl?raw';

const params = { U: 'u32', C: 'u32', V: 'u32', rowStart: 'u32', accumulate: 'u32' } as const;
const kernel = new KernelSource('embedding.backward', source, params);
const WG = 64;

/** Token positions grouped by id (CSR): what the backward kernel needs to sum without atomics. */
export interface TokenIdGroups {
  /** (U) distinct ids, ascending */
  unique: Uint32Array;
  /** (U + 1) start of each id's positions in `positions` */
  offsets: Uint32Array;
  /** (N) every position, grouped by id, ascending within a group */
  positions: Uint32Array;
}

/** Groups positions 0…N−1 by their id (a counting pass on the CPU; the ids are host data anyway). */
export function groupTokenIds(ids: ArrayLike<number>): TokenIdGroups {
  const N = ids.length;
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]! || a - b);
  const unique: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < N; i++) {
    if (i === 0 || ids[order[i]!] !== ids[order[i - 1]!]) {
      unique.push(ids[order[i]!]!);
      offsets.push(i);
    }
  }
  offsets.push(N);
  return { unique: Uint32Array.from(unique), offsets: Uint32Array.from(offsets), positions: Uint32Array.from(order) };
}

export interface EmbeddingBackwardArgs {
  /** groupTokenIds(ids) uploaded: unique (≥ U) u32, offsets (≥ U + 1) u32, positions (≥ N) u32 */
  unique: Tensor;
  offsets: Tensor;
  positions: Tensor;
  /** distinct ids in this batch */
  U: number;
  dOut: Tensor; // (N, C) f32
  dTable: Tensor; // (V, C) f32: the whole table, or one row part of it
  V: number;
  C: number;
  /** For one part of a row-split table: the full-table row of its first row. */
  rowStart?: number;
  accumulate?: boolean;
}

/** dTable[id] (+)= Σ of dOut over the positions holding id (rows whose id appears in no position are left alone). */
export function embeddingBackward(gpu: Gpu, a: EmbeddingBackwardArgs): void {
  const { U, V, C } = a;
  for (const [name, t] of [['unique', a.unique], ['offsets', a.offsets], ['positions', a.positions]] as const) {
    if (t.dtype !== 'u32') throw new StudioError(GpuErrorCode.badArgument, `embedding backward: ${name} ('${t.name}') must be u32, got ${t.dtype}`);
  }
  for (const [name, t, needed] of [['unique', a.unique, U], ['offsets', a.offsets, U + 1], ['dTable', a.dTable, V * C]] as const) {
    if (numel(t.shape) < needed) throw new StudioError(GpuErrorCode.badArgument, `embedding backward: ${name} ('${t.name}', shape ${t.shape.join('×')}) holds ${numel(t.shape)} elements but the call needs ${needed}`);
  }
  if (a.dOut.dtype !== 'f32' || a.dTable.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `embedding backward: dOut ('${a.dOut.name}') and dTable ('${a.dTable.name}') must be f32`);
  if (U === 0) return;
  gpu.dispatch(kernel.variant({ entryPoint: 'main', constants: { WG } }), { U, C, V, rowStart: a.rowStart ?? 0, accumulate: a.accumulate ? 1 : 0 }, [a.unique, a.offsets, a.positions, a.dOut, a.dTable], gpu.grid(U));
}
