/**
 * Error codes of the model layer (E1xx). Safetensors parsing uses E10x, configs E11x, loading E12x.
 * Each is raised as a StudioError with a message naming the offending file, key or value and a hint.
 */
export const ModelErrorCode = {
  // E10x: safetensors files
  safetensorsTruncated: 'E101',
  safetensorsHeader: 'E102',
  safetensorsOffsets: 'E103',
  safetensorsDtype: 'E104',
  safetensorsMetadata: 'E105',
  // E11x: configurations
  unknownModelType: 'E110',
  unsupportedOption: 'E111',
  badConfig: 'E112',
  // E12x: weights and sources
  missingWeight: 'E120',
  weightShape: 'E121',
  unexpectedWeight: 'E122',
  fetchFailed: 'E123',
  tooLargeForDevice: 'E124',
  /** A file name (from an index, an adapter or a caller) that would leave the source's folder, URL path or repo. */
  unsafePath: 'E125',
  /** A file of the source exists but cannot be read as a file (a directory, no permission, an I/O error). */
  unreadableFile: 'E126',
  /** A config.json size or hyper-parameter outside the limits of src/model/limits.ts. */
  outOfLimits: 'E127',
  /** A computed output (generation's logits) is NaN or infinite. */
  nonFiniteOutput: 'E128',
} as const;
