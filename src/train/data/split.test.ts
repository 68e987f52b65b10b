import { describe, expect, it } from 'vitest';
import { mixSeed, mulberry32, shuffledIndices } from './rng';
import { splitTrainValidation } from './split';

describe('seeded randomness', () => {
  it('mulberry32 gives the reference sequence and values in [0, 1)', () => {
    // First outputs of mulberry32(1) from the reference C code (Tommy Ettinger's uint32_t mulberry32),
    // compiled with gcc: 2693262067, 11749833, 2265367787.
    const r = mulberry32(1);
    const first = [r(), r(), r()].map((v) => Math.round(v * 4294967296));
    expect(first).toEqual([2693262067, 11749833, 2265367787]);
    const s = mulberry32(123);
    for (let i = 0; i < 1000; i++) {
      const v = s();
      expect(v >= 0 && v < 1).toBe(true);
    }
  });

  it('shuffles are permutations, equal for equal seeds, different for other seeds', () => {
    const a = shuffledIndices(50, 7);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffledIndices(50, 7)).toEqual(a);
    expect(shuffledIndices(50, 8)).not.toEqual(a);
    expect(shuffledIndices(0, 1)).toEqual([]);
    expect(shuffledIndices(1, 1)).toEqual([0]);
  });

  it('mixSeed separates streams', () => {
    const seeds = new Set(Array.from({ length: 100 }, (_, e) => mixSeed(42, e)));
    expect(seeds.size).toBe(100);
    expect(mixSeed(42, 3)).toBe(mixSeed(42, 3));
  });
});

describe('train/validation split', () => {
  const items = Array.from({ length: 20 }, (_, i) => `ex${i}`);

  it('sizes follow the fraction, and the parts partition the input', () => {
    const s = splitTrainValidation(items, { validationFraction: 0.25, seed: 3 });
    expect(s.validation).toHaveLength(5);
    expect(s.train).toHaveLength(15);
    expect([...s.train, ...s.validation].sort()).toEqual([...items].sort());
    expect(s.validation).toEqual(s.validationIndices.map((i) => items[i]));
  });

  it('is deterministic in the seed', () => {
    const a = splitTrainValidation(items, { validationFraction: 0.1, seed: 9 });
    expect(splitTrainValidation(items, { validationFraction: 0.1, seed: 9 })).toEqual(a);
    expect(splitTrainValidation(items, { validationFraction: 0.1, seed: 10 }).validationIndices).not.toEqual(a.validationIndices);
  });

  it('at least 1 validation and 1 train example once there are 2; none for fraction 0 or 1 example', () => {
    expect(splitTrainValidation(['a', 'b'], { validationFraction: 0.01, seed: 1 }).validation).toHaveLength(1);
    expect(splitTrainValidation(['a', 'b', 'c'], { validationFraction: 0.9, seed: 1 }).train).toHaveLength(1);
    expect(splitTrainValidation(['a'], { validationFraction: 0.5, seed: 1 })).toMatchObject({ train: ['a'], validation: [] });
    expect(splitTrainValidation(items, { validationFraction: 0, seed: 1 }).validation).toEqual([]);
    expect(splitTrainValidation([], { validationFraction: 0.1, seed: 1 })).toMatchObject({ train: [], validation: [] });
  });

  it('refuses fractions outside [0, 1)', () => {
    for (const f of [-0.1, 1, 2, Number.NaN]) expect(() => splitTrainValidation(items, { validationFraction: f, seed: 1 })).toThrow(/^E403/);
  });
});
