import { describe, expect, it } from 'vitest';
import { EpochIterator } from './epochs';
import { mixSeed, shuffledIndices } from './rng';

const take = (it: EpochIterator, k: number) => Array.from({ length: k }, () => it.next());

describe('EpochIterator', () => {
  it('each epoch is a seeded permutation cut into batches; the last batch may be short', () => {
    const it = new EpochIterator(10, { batchSize: 4, seed: 5 });
    expect(it.batchesPerEpoch).toBe(3);
    const batches = take(it, 6);
    expect(batches.map((b) => b.indices.length)).toEqual([4, 4, 2, 4, 4, 2]);
    expect(batches.map((b) => [b.epoch, b.position])).toEqual([
      [0, 0],
      [0, 4],
      [0, 8],
      [1, 0],
      [1, 4],
      [1, 8],
    ]);
    const epoch0 = batches.slice(0, 3).flatMap((b) => b.indices);
    const epoch1 = batches.slice(3).flatMap((b) => b.indices);
    expect(epoch0).toEqual(shuffledIndices(10, mixSeed(5, 0)));
    expect(epoch1).toEqual(shuffledIndices(10, mixSeed(5, 1)));
    expect(epoch1).not.toEqual(epoch0);
    expect(it.cursor).toEqual({ epoch: 2, position: 0 });
  });

  it('the same seed gives the same batches', () => {
    expect(take(new EpochIterator(7, { batchSize: 3, seed: 1 }), 8)).toEqual(take(new EpochIterator(7, { batchSize: 3, seed: 1 }), 8));
  });

  it('resumes exactly from a saved cursor, mid-epoch and at an epoch boundary', () => {
    for (const stopAfter of [1, 2, 3, 5]) {
      const reference = new EpochIterator(10, { batchSize: 4, seed: 11 });
      const all = take(reference, 9);
      const first = new EpochIterator(10, { batchSize: 4, seed: 11 });
      take(first, stopAfter);
      const saved = JSON.parse(JSON.stringify(first.cursor)) as { epoch: number; position: number };
      const resumed = new EpochIterator(10, { batchSize: 4, seed: 11 }, saved);
      expect(take(resumed, 9 - stopAfter)).toEqual(all.slice(stopAfter));
    }
  });

  it('dropLast skips short batches; shuffle false keeps file order', () => {
    const it = new EpochIterator(10, { batchSize: 4, seed: 5, dropLast: true, shuffle: false });
    expect(it.batchesPerEpoch).toBe(2);
    expect(take(it, 3).map((b) => [b.epoch, b.position, b.indices])).toEqual([
      [0, 0, [0, 1, 2, 3]],
      [0, 4, [4, 5, 6, 7]],
      [1, 0, [0, 1, 2, 3]],
    ]);
    // a cursor inside the dropped tail moves to the next epoch
    expect(new EpochIterator(10, { batchSize: 4, seed: 5, dropLast: true }, { epoch: 3, position: 9 }).cursor).toEqual({ epoch: 4, position: 0 });
  });

  it('refuses impossible settings and cursors', () => {
    expect(() => new EpochIterator(0, { batchSize: 1, seed: 1 })).toThrow(/^E403/);
    expect(() => new EpochIterator(3, { batchSize: 0, seed: 1 })).toThrow(/^E403/);
    expect(() => new EpochIterator(3, { batchSize: 4, seed: 1, dropLast: true })).toThrow(/^E403/);
    expect(() => new EpochIterator(3, { batchSize: 2, seed: 1 }, { epoch: 0, position: 3 })).toThrow(/^E403/);
    expect(() => new EpochIterator(3, { batchSize: 2, seed: 1 }, { epoch: -1, position: 0 })).toThrow(/^E403/);
  });

  it('batch size above n without dropLast gives the whole epoch each time', () => {
    const it = new EpochIterator(3, { batchSize: 8, seed: 2 });
    const [a, b] = take(it, 2);
    expect([...a!.indices].sort()).toEqual([0, 1, 2]);
    expect([b!.epoch, b!.position]).toEqual([1, 0]);
  });
});
