import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';

/**
 * A batch of B right-padded token sequences of length T, on the CPU. Rows are sequences; padding
 * has attentionMask 0. Position ids count real tokens from 0 (0 on padding).
 */
export interface TokenBatch {
  B: number;
  T: number;
  inputIds: Uint32Array; // (B, T)
  attentionMask: Uint32Array; // (B, T) 1 = real token
  positionIds: Uint32Array; // (B, T)
}

/** Builds a right-padded batch from token sequences. */
export function makeBatch(sequences: readonly (readonly number[])[], padId = 0): TokenBatch {
  const B = sequences.length;
  const T = Math.max(1, ...sequences.map((s) => s.length));
  const inputIds = new Uint32Array(B * T).fill(padId);
  const attentionMask = new Uint32Array(B * T);
  const positionIds = new Uint32Array(B * T);
  sequences.forEach((s, b) => {
    s.forEach((id, t) => {
      inputIds[b * T + t] = id;
      attentionMask[b * T + t] = 1;
      positionIds[b * T + t] = t;
    });
  });
  return { B, T, inputIds, attentionMask, positionIds };
}

/** The batch's id, position and mask tensors on the GPU, sized for up to maxRows = B·T rows. */
export interface BatchTensors {
  ids: Tensor; // (N) u32
  positions: Tensor; // (N) u32
  mask: Tensor; // (N) u32
}

export async function createBatchTensors(gpu: Gpu, label: string, maxRows: number): Promise<BatchTensors> {
  return {
    ids: await gpu.createTensor(`${label}.ids`, [maxRows], 'u32'),
    positions: await gpu.createTensor(`${label}.positions`, [maxRows], 'u32'),
    mask: await gpu.createTensor(`${label}.mask`, [maxRows], 'u32'),
  };
}

export function uploadBatch(gpu: Gpu, t: BatchTensors, batch: TokenBatch): void {
  gpu.write(t.ids, batch.inputIds);
  gpu.write(t.positions, batch.positionIds);
  gpu.write(t.mask, batch.attentionMask);
}
