/**
 * Coded errors shared by every layer. A code is stable (tests and the UI key on it), the message
 * says what went wrong with the offending value, and the hint says what the user can do.
 */
export class StudioError extends Error {
  readonly code: string;
  readonly hint: string;
  /** The message alone (`message` also carries the code and the hint), for re-wording an error. */
  readonly detail: string;
  constructor(code: string, message: string, hint = '') {
    super(`${code} ${message}${hint ? ` — ${hint}` : ''}`);
    this.name = 'StudioError';
    this.code = code;
    this.hint = hint;
    this.detail = message;
  }
}

/** Error codes of the engine layer (E0xx). Higher layers use their own ranges. */
export const GpuErrorCode = {
  unavailable: 'E001',
  noAdapter: 'E002',
  validation: 'E003',
  outOfMemory: 'E004',
  deviceLost: 'E005',
  internal: 'E006',
  tooLarge: 'E007',
  badArgument: 'E008',
} as const;

export function isStudioError(e: unknown, code?: string): e is StudioError {
  return e instanceof StudioError && (code === undefined || e.code === code);
}
