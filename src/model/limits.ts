/**
 * THE table of sane maxima for every size a config.json or shadow_config.json gives. A file above
 * them is damaged or hostile, not a bigger model: the largest models of the supported families stay
 * well below (Llama-3.1-405B: 126 layers, hidden 16,384, MLP 53,248, 128 heads, vocabulary 128,256;
 * Qwen2.5-1M: 1,010,000 positions). They are checked when config.json is mapped (families/hfConfig.ts)
 * and when shadow_config.json is read (src/shadow/config.ts), before anything is allocated; the memory
 * estimate then decides whether a model within them fits the device (load.ts).
 */
export const SIZE_LIMITS = {
  /** L: num_hidden_layers; also N_s, num_shadow_layers */
  layers: 256,
  /** C: hidden_size */
  hidden: 65_536,
  /** I: intermediate_size, shadow_intermediate_size */
  intermediate: 262_144,
  /** NH, NKV: num_attention_heads, num_key_value_heads and their shadow overrides */
  heads: 1024,
  /** HS: head_dim, shadow_head_dim */
  headDim: 1024,
  /** V: vocab_size */
  vocab: 1_048_576,
  /** max_position_embeddings (and rope_scaling.original_max_position_embeddings) */
  positions: 1_048_576,
  /** R, G: injection_hidden_size, gate_hidden_size of the adapter */
  adapterWidth: 65_536,
} as const;

/**
 * Bytes a model's frozen weights and smallest workspace may take, whatever the device says: no WebGPU
 * device lends one page more (browsers cap a tab's GPU memory far lower), so an estimate above it is a
 * broken config.json, refused in milliseconds instead of allocating until the driver gives up.
 */
export const MAX_MODEL_BYTES = 256 * 2 ** 30;

/** Ranges of the float hyper-parameters a config.json gives. */
export const FLOAT_LIMITS = {
  /** rms_norm_eps: 0 < eps ≤ 1 (published models use 1e-6 … 1e-5) */
  rmsNormEpsMax: 1,
  /** rope θ: 0 < θ ≤ 1e12 (published: 1e4 … 1e6; larger is no rotation at all in f32) */
  ropeThetaMax: 1e12,
  /** rope_scaling factors: 0 < f ≤ 1e6 */
  ropeFactorMax: 1e6,
} as const;
