/**
 * Error codes of the training library (E3xx): the run configuration, the training loop and its
 * checkpoints. Codes are stable; tests and the UI key on them. (The data pipeline uses E4xx.)
 */
export const TrainErrorCode = {
  /** A run configuration field is missing, of the wrong type or out of range (the message names it). */
  badRunConfig: 'E301',
  /** No training example is left after tokenization and the validation split. */
  noTrainingData: 'E302',
  /** The browser refused to store a checkpoint: its storage quota is full. */
  checkpointQuota: 'E303',
  /** An adapter or optimizer tensor holds NaN or ±Inf: it is never saved. */
  nonFiniteAdapter: 'E304',
  /** A checkpoint belongs to another model, adapter shape, run configuration or dataset. */
  checkpointMismatch: 'E305',
  /** A checkpoint is missing, unreadable or of another format version. */
  checkpointFormat: 'E306',
  /** IndexedDB is unavailable or failed for another reason than the quota. */
  checkpointStorage: 'E307',
  /** The trainer was used out of order (run twice, or resumed from a state it cannot continue). */
  trainerState: 'E308',
} as const;

export type TrainErrorCodeValue = (typeof TrainErrorCode)[keyof typeof TrainErrorCode];
