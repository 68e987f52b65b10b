import { DataErrorCode } from './issues';
import { countTargets } from './tokenize';
import { IGNORE_INDEX } from './types';
import type { TokenizedExample } from './types';
import { StudioError } from '../../engine/errors';

/** One histogram bin: sequences with minLength ≤ length ≤ maxLength. */
export interface LengthBin {
  minLength: number;
  maxLength: number;
  count: number;
}

export interface DatasetStats {
  exampleCount: number;
  /** all tokens of all sequences (no padding) */
  tokenCount: number;
  /** tokens whose label is not −100 */
  supervisedTokenCount: number;
  /** supervised tokens that the causal loss actually predicts (position ≥ 1); the CE mean divides by these */
  targetTokenCount: number;
  minLength: number;
  maxLength: number;
  meanLength: number;
  /** fixed bins of equal integer width covering 1..maxLength option */
  histogram: LengthBin[];
  truncatedCount: number;
  droppedCount: number;
}

export interface StatsOptions {
  /** the tokenization maxLength; the histogram spans 1..maxLength (longer sequences land in the last bin) */
  maxLength: number;
  binCount?: number;
  truncatedCount?: number;
  droppedCount?: number;
}

export function lengthHistogram(lengths: readonly number[], maxLength: number, binCount = 16): LengthBin[] {
  if (!(Number.isInteger(maxLength) && maxLength >= 1 && Number.isInteger(binCount) && binCount >= 1)) {
    throw new StudioError(DataErrorCode.badOption, `histogram needs integer maxLength ≥ 1 and binCount ≥ 1, got ${maxLength}, ${binCount}`);
  }
  const width = Math.ceil(maxLength / binCount);
  const n = Math.ceil(maxLength / width); // fewer bins than asked when maxLength < binCount
  const bins: LengthBin[] = Array.from({ length: n }, (_, i) => ({ minLength: i * width + 1, maxLength: Math.min((i + 1) * width, maxLength), count: 0 }));
  for (const len of lengths) {
    const i = Math.min(Math.max(Math.floor((len - 1) / width), 0), n - 1);
    bins[i]!.count++;
  }
  return bins;
}

export function datasetStats(examples: readonly TokenizedExample[], options: StatsOptions): DatasetStats {
  const lengths = examples.map((e) => e.inputIds.length);
  let tokenCount = 0;
  let minLength = Infinity;
  let maxLength = 0;
  let supervisedTokenCount = 0;
  let targetTokenCount = 0;
  for (const e of examples) {
    tokenCount += e.inputIds.length;
    minLength = Math.min(minLength, e.inputIds.length); // a loop, not Math.min(...): spreads overflow the stack
    maxLength = Math.max(maxLength, e.inputIds.length);
    for (const l of e.labels) if (l !== IGNORE_INDEX) supervisedTokenCount++;
    targetTokenCount += countTargets(e.labels);
  }
  return {
    exampleCount: examples.length,
    tokenCount,
    supervisedTokenCount,
    targetTokenCount,
    minLength: examples.length ? minLength : 0,
    maxLength,
    meanLength: lengths.length ? tokenCount / lengths.length : 0,
    histogram: lengthHistogram(lengths, options.maxLength, options.binCount),
    truncatedCount: options.truncatedCount ?? 0,
    droppedCount: options.droppedCount ?? 0,
  };
}
