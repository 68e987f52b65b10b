import { describe, expect, it } from 'vitest';
import { datasetStats, lengthHistogram } from './stats';
import type { TokenizedExample } from './types';

const M = -100;
const ex = (inputIds: number[], labels: number[]): TokenizedExample => ({ inputIds, labels, line: 1 });

describe('dataset statistics', () => {
  it('counts tokens, supervised tokens and loss targets', () => {
    const s = datasetStats([ex([1, 2, 3, 4], [M, M, 3, 4]), ex([5, 6], [5, 6]), ex([7, 8, 9], [M, 8, M])], { maxLength: 8, binCount: 4, truncatedCount: 2, droppedCount: 1 });
    expect(s).toMatchObject({
      exampleCount: 3,
      tokenCount: 9,
      supervisedTokenCount: 5, // 3,4 + 5,6 + 8
      targetTokenCount: 4, // label 5 sits at position 0: no position predicts it
      minLength: 2,
      maxLength: 4,
      meanLength: 3,
      truncatedCount: 2,
      droppedCount: 1,
    });
    expect(s.histogram).toEqual([
      { minLength: 1, maxLength: 2, count: 1 },
      { minLength: 3, maxLength: 4, count: 2 },
      { minLength: 5, maxLength: 6, count: 0 },
      { minLength: 7, maxLength: 8, count: 0 },
    ]);
  });

  it('histogram bins: integer widths, bounds inclusive, overflow in the last bin', () => {
    expect(lengthHistogram([1, 5, 6, 10, 11, 50], 10, 3)).toEqual([
      { minLength: 1, maxLength: 4, count: 1 },
      { minLength: 5, maxLength: 8, count: 2 },
      { minLength: 9, maxLength: 10, count: 3 },
    ]);
    expect(lengthHistogram([1, 2, 3], 3, 16).map((b) => b.count)).toEqual([1, 1, 1]);
    expect(() => lengthHistogram([], 0, 4)).toThrow(/^E403/);
  });

  it('an empty set has zero counts', () => {
    expect(datasetStats([], { maxLength: 4, binCount: 2 })).toMatchObject({ exampleCount: 0, tokenCount: 0, minLength: 0, maxLength: 0, meanLength: 0 });
  });

  it('handles many examples (no argument-spread limits)', () => {
    const many = Array.from({ length: 199_998 }, (_, i) => ex([1, 2, 3].slice(0, 1 + (i % 3)), [1, 2, 3].slice(0, 1 + (i % 3))));
    const s = datasetStats(many, { maxLength: 3 });
    expect([s.minLength, s.maxLength, s.tokenCount]).toEqual([1, 3, 399_996]); // 66,666 each of lengths 1, 2, 3
  });
});
