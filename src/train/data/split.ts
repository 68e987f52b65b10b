import { DataErrorCode } from './issues';
import { shuffledIndices } from './rng';
import { StudioError } from '../../engine/errors';

export interface SplitOptions {
  /** share of examples held out for validation, in [0, 1); 0 disables validation */
  validationFraction: number;
  seed: number;
}

export interface Split<T> {
  train: T[];
  validation: T[];
  /** indices into the input, in the shuffled order */
  trainIndices: number[];
  validationIndices: number[];
}

/**
 * Deterministic train/validation split: shuffle with the seed, then the first round(n·fraction)
 * examples are validation. With a fraction > 0 and at least 2 examples, validation gets at least 1
 * and train keeps at least 1.
 */
export function splitTrainValidation<T>(items: readonly T[], options: SplitOptions): Split<T> {
  const { validationFraction: f, seed } = options;
  if (!(f >= 0 && f < 1)) throw new StudioError(DataErrorCode.badOption, `validation fraction must be in [0, 1), got ${f}`, 'use e.g. 0.1');
  const n = items.length;
  let nVal = Math.round(n * f);
  if (f > 0 && n >= 2) nVal = Math.min(Math.max(nVal, 1), n - 1);
  if (n < 2) nVal = 0;
  const order = shuffledIndices(n, seed);
  const validationIndices = order.slice(0, nVal);
  const trainIndices = order.slice(nVal);
  return {
    train: trainIndices.map((i) => items[i]!),
    validation: validationIndices.map((i) => items[i]!),
    trainIndices,
    validationIndices,
  };
}
