import { StudioError } from '../../engine/errors';
import { DataErrorCode } from './issues';
import { IGNORE_INDEX } from './types';
import type { TokenizedExample } from './types';

/** A micro-batch, right-padded to its longest sequence. All arrays are row-major (B, T). */
export interface Batch {
  B: number;
  T: number;
  inputIds: Int32Array; // (B, T) token ids, padId on padding
  attentionMask: Int32Array; // (B, T) 1 on tokens, 0 on padding
  labels: Int32Array; // (B, T) label of each position (HF convention, unshifted), −100 on prompt and padding
  positionIds: Int32Array; // (B, T) 0..len−1 on tokens, 0 on padding
  lengths: number[]; // (B) real length of each row
}

/** Pads examples to the longest one (right padding). */
export function collate(examples: readonly TokenizedExample[], padId: number): Batch {
  if (examples.length === 0) throw new StudioError(DataErrorCode.badOption, 'collate needs at least one example');
  const B = examples.length;
  let T = 0;
  for (const e of examples) {
    if (e.inputIds.length !== e.labels.length) {
      throw new StudioError(DataErrorCode.badOption, `example of line ${e.line}: ${e.inputIds.length} ids but ${e.labels.length} labels`);
    }
    T = Math.max(T, e.inputIds.length);
  }
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const positionIds = new Int32Array(B * T);
  examples.forEach((e, b) => {
    const row = b * T;
    for (let t = 0; t < e.inputIds.length; t++) {
      inputIds[row + t] = e.inputIds[t]!;
      attentionMask[row + t] = 1;
      labels[row + t] = e.labels[t]!;
      positionIds[row + t] = t;
    }
  });
  return { B, T, inputIds, attentionMask, labels, positionIds, lengths: examples.map((e) => e.inputIds.length) };
}

/**
 * The causal shift: targets[b, t] = labels[b, t + 1], and −100 at t = T − 1. The model's
 * cross-entropy compares logits row (b, t), which predicts the token after position t, with
 * targets[b, t]; rows whose target is −100 (prompt, padding, last position) add nothing, and the
 * mean divides by the number of other rows (countTargetRows).
 */
export function shiftTargets(labels: Int32Array, B: number, T: number): Int32Array {
  // labels (B, T) → targets (B, T)
  if (labels.length !== B * T) throw new StudioError(DataErrorCode.badOption, `labels hold ${labels.length} values, expected B·T = ${B * T}`);
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) {
    const row = b * T;
    for (let t = 0; t + 1 < T; t++) targets[row + t] = labels[row + t + 1]!;
  }
  return targets;
}

/** Rows that contribute to the loss: targets ≠ −100. */
export function countTargetRows(targets: Int32Array): number {
  let n = 0;
  for (const v of targets) if (v !== IGNORE_INDEX) n++;
  return n;
}
