import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { RowSplitMatrix, Tensor } from '../../tensor';
import { numel, rowParts } from '../../tensor';
import source from './embedding.wgsl?raw';

const params = { N: 'u32', C: 'u32', V: 'u32', rowStart: 'u32', partial: 'u32' } as const;
const kernel = new KernelSource('embedding', source, params);
const WG = 256;

const TABLE_ARRAY = { f32: 'array<f32>', f16: 'array<f16>', bf16x2: 'array<u32>', f16x2: 'array<u32>' } as const;

/** The pipeline variant for a table dtype (exposed so callers can compile it ahead of time). */
export function embeddingVariant(tableDtype: Tensor['dtype']): KernelSpec<typeof params> {
  const array = TABLE_ARRAY[tableDtype as keyof typeof TABLE_ARRAY];
  if (!array) throw new StudioError(GpuErrorCode.badArgument, `embedding: table dtype ${tableDtype} is not a weight storage (f32, f16, bf16x2, f16x2)`);
  return kernel.variant({
    entryPoint: 'main',
    vars: { E_ARRAY: array },
    flags: { F16: tableDtype === 'f16', E_F32: tableDtype === 'f32', E_F16: tableDtype === 'f16', E_BF16X2: tableDtype === 'bf16x2', E_F16X2: tableDtype === 'f16x2' },
    constants: { WG },
  });
}

export interface EmbeddingArgs {
  ids: Tensor; // (N) u32 or i32 token ids
  table: Tensor; // (V, C) f32, f16 (needs shader-f16), bf16x2 or f16x2
  out: Tensor; // (N, C) f32, overwritten
  N: number;
  V: number;
  C: number;
  /** For one part of a row-split table: the full-table row of its first row. Ids outside the part leave their rows untouched. */
  part?: { rowStart: number };
}

/** out[n] = table[ids[n]]; an id outside [0, V) gives a row of zeros (never an out-of-bounds read). */
export function embeddingForward(gpu: Gpu, a: EmbeddingArgs): void {
  const { N, V, C } = a;
  if (a.ids.dtype !== 'u32' && a.ids.dtype !== 'i32') throw new StudioError(GpuErrorCode.badArgument, `embedding: ids ('${a.ids.name}') must be u32 or i32, got ${a.ids.dtype}`);
  if (a.out.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `embedding: out ('${a.out.name}') must be f32, got ${a.out.dtype}`);
  if (a.table.dtype === 'f16' && !gpu.caps.features.shaderF16) throw new StudioError(GpuErrorCode.badArgument, `embedding: table '${a.table.name}' is f16 but this device has no shader-f16`, 'store the table as f16x2 or bf16x2 instead');
  for (const [name, t, needed] of [['ids', a.ids, N], ['table', a.table, V * C], ['out', a.out, N * C]] as const) {
    if (numel(t.shape) < needed) throw new StudioError(GpuErrorCode.badArgument, `embedding: ${name} ('${t.name}', shape ${t.shape.join('×')}) holds ${numel(t.shape)} elements but the call needs ${needed}`);
  }
  gpu.dispatch(embeddingVariant(a.table.dtype), { N, C, V, rowStart: a.part?.rowStart ?? 0, partial: a.part ? 1 : 0 }, [a.ids, a.table, a.out], gpu.grid(Math.ceil((N * C) / WG)));
}

/** out (N, C) = table[ids] for a whole table or its row parts (one dispatch per part). */
export function embeddingForwardParts(gpu: Gpu, table: RowSplitMatrix, ids: Tensor, out: Tensor, N: number, C: number): void {
  const parts = rowParts(table);
  for (const p of parts) embeddingForward(gpu, { ids, table: p.tensor, out, N, V: p.rows, C, part: parts.length > 1 ? { rowStart: p.rowStart } : undefined });
}
