import { describe, expect, it } from 'vitest';
import { collate, countTargetRows, shiftTargets } from './batch';
import type { TokenizedExample } from './types';

const M = -100;
const ex = (inputIds: number[], labels: number[], line = 1): TokenizedExample => ({ inputIds, labels, line });

describe('collate', () => {
  it('right-pads to the longest row with pad id, mask 0, label −100, position 0', () => {
    const b = collate([ex([11, 12, 13], [M, 12, 13]), ex([21], [21]), ex([31, 32, 33, 34], [M, M, 33, 34])], 0);
    expect([b.B, b.T]).toEqual([3, 4]);
    expect([...b.inputIds]).toEqual([11, 12, 13, 0, /**/ 21, 0, 0, 0, /**/ 31, 32, 33, 34]);
    expect([...b.attentionMask]).toEqual([1, 1, 1, 0, /**/ 1, 0, 0, 0, /**/ 1, 1, 1, 1]);
    expect([...b.labels]).toEqual([M, 12, 13, M, /**/ 21, M, M, M, /**/ M, M, 33, 34]);
    expect([...b.positionIds]).toEqual([0, 1, 2, 0, /**/ 0, 0, 0, 0, /**/ 0, 1, 2, 3]);
    expect(b.lengths).toEqual([3, 1, 4]);
  });

  it('uses the given pad id, B = 1 has no padding', () => {
    const b = collate([ex([5, 6], [5, 6])], 151643);
    expect([b.B, b.T, ...b.inputIds, ...b.attentionMask]).toEqual([1, 2, 5, 6, 1, 1]);
    expect([...collate([ex([1], [1]), ex([1, 2], [1, 2])], 151643).inputIds]).toEqual([1, 151643, 1, 2]);
  });

  it('refuses empty batches and ragged examples', () => {
    expect(() => collate([], 0)).toThrow(/^E403/);
    expect(() => collate([ex([1, 2], [1])], 0)).toThrow(/^E403 example of line 1: 2 ids but 1 labels/);
  });
});

describe('causal shift', () => {
  it('targets[b, t] = labels[b, t + 1], −100 at the last position of every row', () => {
    const b = collate([ex([11, 12, 13], [M, 12, 13]), ex([21, 22], [21, 22])], 0);
    const targets = shiftTargets(b.labels, b.B, b.T);
    // row 0: labels [M, 12, 13] → [12, 13, M]; row 1: labels [21, 22, M(pad)] → [22, M, M]
    expect([...targets]).toEqual([12, 13, M, 22, M, M]);
    expect(countTargetRows(targets)).toBe(3);
  });

  it('checks the shape', () => {
    expect(() => shiftTargets(new Int32Array(5), 2, 3)).toThrow(/^E403 labels hold 5 values, expected B·T = 6/);
    expect([...shiftTargets(new Int32Array([7]), 1, 1)]).toEqual([M]);
  });
});
