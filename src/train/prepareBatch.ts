import { countSupervised } from '../engine/kernels/crossentropy/crossentropy';
import type { TokenBatch } from '../model/batch';
import { shiftLabels } from '../model/lossHead';
import { collate } from './data/batch';
import type { TokenizedExample } from './data/types';

/** A micro-batch ready for ShadowPeftModel: the model's TokenBatch, the labels, and its counts. */
export interface PreparedBatch {
  batch: TokenBatch; // (B, T), right-padded to the longest example
  labels: Int32Array; // (B, T) unshifted (HF convention), −100 on prompt and padding
  /** positions the loss averages over (targets after the causal shift that are not −100) */
  supervised: number;
  /** real, non-padding tokens (for tokens per second) */
  tokens: number;
}

/**
 * Collates examples (src/train/data) into the model's batch layout. The supervised count uses the
 * same shift and check as the loss head, so micro-batch weights match what the GPU averages over
 * (a label outside the vocabulary fails here, before any GPU work).
 */
export function prepareBatch(examples: readonly TokenizedExample[], padId: number, vocabSize: number): PreparedBatch {
  const b = collate(examples, padId);
  const batch: TokenBatch = { B: b.B, T: b.T, inputIds: Uint32Array.from(b.inputIds), attentionMask: Uint32Array.from(b.attentionMask), positionIds: Uint32Array.from(b.positionIds) };
  const supervised = countSupervised(shiftLabels(b.labels, b.B, b.T), vocabSize);
  return { batch, labels: b.labels, supervised, tokens: b.lengths.reduce((a, n) => a + n, 0) };
}
