/**
 * Error codes of the shadow layer (E2xx): ShadowPEFT configuration, its resolution against a base
 * model, and the adapter file format. Codes are stable; tests and the UI key on them.
 */
export const ShadowErrorCode = {
  /** shadow_config.json is not JSON, or not a JSON object. */
  badConfigJson: 'E201',
  /** A field has the wrong JSON type (string where a number belongs, null where null is not allowed…). */
  fieldType: 'E202',
  /** The base model has fewer than 2 decoder layers: there is no slot to inject into. */
  baseTooShallow: 'E203',
  /** gate_hidden_size < 2 (the reference package refuses it too). */
  gateTooSmall: 'E204',
  /** injection_hidden_size < 1. */
  injectionTooSmall: 'E205',
  /** num_shadow_layers < 1 or above SIZE_LIMITS.layers. */
  tooFewShadowLayers: 'E206',
  /** Shadow query heads are not a multiple of its key/value heads (GQA needs whole groups). */
  headsNotMultiple: 'E207',
  /** dropout outside [0, 1). */
  dropoutOutOfRange: 'E208',
  /** alpha is NaN, infinite, or beyond ±SHADOW_HYPER_LIMITS.alphaMax. */
  alphaNotFinite: 'E209',
  /** A shadow_* size override is set but not a positive integer, or does not divide as it must. */
  badShadowSize: 'E210',
  /** The shadow head size is odd: rotary embeddings rotate pairs of channels. */
  headDimOdd: 'E211',
  /** modules_to_save is not a list of strings. */
  badModulesToSave: 'E212',
  /** The base architecture itself is inconsistent (non-positive sizes, heads not a multiple of kv heads…). */
  badBaseArchitecture: 'E213',
  /** An adapter file lacks a tensor the configuration requires. */
  adapterKeyMissing: 'E214',
  /** An adapter file holds a tensor the configuration does not know. */
  adapterKeyUnexpected: 'E215',
  /** An adapter tensor has a different shape than the configuration requires. */
  adapterShapeMismatch: 'E216',
  /** An explicit shadow cannot be combined with the base this way (e.g. shares embeddings at another width). */
  explicitShadowMismatch: 'E217',
  /** A shadow shape the GPU implementation does not support yet (explicit shadows, o_proj bias). */
  unsupportedOnGpu: 'E218',
  /** An adapter file's metadata or format version cannot be read. */
  adapterFormat: 'E219',
  /** A batch for one step (cli dump's batch.json) is malformed: shapes, token ids outside the vocabulary, masks, labels. */
  badBatch: 'E220',
  /** λ (shadow_loss_weight) missing, not a number, or outside 0 ≤ λ ≤ 100. */
  lossWeightOutOfRange: 'E221',
  /** An adapter's tensors, by the size table, do not fit this device (before any is allocated). */
  adapterTooLarge: 'E222',
  /** A computed output (cli dump's losses, logits, gradients) is NaN or infinite: it is not written. */
  nonFiniteOutput: 'E223',
} as const;

export type ShadowErrorCodeValue = (typeof ShadowErrorCode)[keyof typeof ShadowErrorCode];
