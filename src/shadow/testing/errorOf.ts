import { expect } from 'vitest';
import { isStudioError } from '../../engine/errors';

/** Runs `fn`, expects a StudioError with `code`, returns its message for further checks. */
export function errorOf(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (e) {
    if (!isStudioError(e)) throw e;
    expect(e.code).toBe(code);
    return e.message;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}
