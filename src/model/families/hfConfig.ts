import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import type { Llama3RopeScaling, ModelConfig, ModelType } from '../config';

/** A config.json as published on the Hub: untyped JSON read through the helpers below. */
export type HfConfig = Record<string, unknown>;

export function requireInt(cfg: HfConfig, key: string, min = 1): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new StudioError(ModelErrorCode.badConfig, `config.json: '${key}' must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, 'check that the model folder holds an unmodified config.json from the Hub');
  }
  return v;
}

export function optionalNumber(cfg: HfConfig, key: string, fallback: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new StudioError(ModelErrorCode.badConfig, `config.json: '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function optionalBool(cfg: HfConfig, key: string, fallback: boolean): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new StudioError(ModelErrorCode.badConfig, `config.json: '${key}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function unsupported(modelType: string, option: string, value: unknown, supported: string): never {
  throw new StudioError(ModelErrorCode.unsupportedOption, `${modelType}: config option ${option} = ${JSON.stringify(value)} is not supported; supported: ${supported}`, 'pick another model, or open an issue asking for this option');
}

export function eosIds(cfg: HfConfig): number[] {
  const v = cfg.eos_token_id;
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** SiLU-gated MLPs only: every family here uses them. */
export function checkActivation(modelType: string, cfg: HfConfig): void {
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') unsupported(modelType, 'hidden_act', act, '"silu"');
}

/**
 * The rotary settings as one object. transformers ≥ 5 writes them as `rope_parameters`
 * ({ rope_theta, rope_type, and the scaling fields }); older configs as `rope_theta` beside
 * `rope_scaling`. Both read the same: a config in either form gives the same ModelConfig.
 */
function ropeParameters(cfg: HfConfig): Record<string, unknown> | null {
  const p = cfg.rope_parameters;
  if (p === undefined || p === null) return null;
  if (typeof p !== 'object' || Array.isArray(p)) throw new StudioError(ModelErrorCode.badConfig, `config.json: rope_parameters must be an object, got ${JSON.stringify(p)}`, 'check that the model folder holds an unmodified config.json from the Hub');
  return p as Record<string, unknown>;
}

/** rope θ: rope_parameters.rope_theta (transformers ≥ 5), else rope_theta, else the family default. */
export function ropeTheta(cfg: HfConfig, fallback: number): number {
  const p = ropeParameters(cfg);
  if (p && p.rope_theta !== undefined && p.rope_theta !== null) return optionalNumber(p, 'rope_theta', fallback);
  return optionalNumber(cfg, 'rope_theta', fallback);
}

/** rope_scaling (or rope_parameters): none/"default", or the "llama3" rule of Llama 3.1/3.2. */
export function ropeScaling(modelType: string, cfg: HfConfig, allowLlama3: boolean): Llama3RopeScaling | null {
  const fromParameters = ropeParameters(cfg);
  const key = fromParameters ? 'rope_parameters' : 'rope_scaling';
  const rs = fromParameters ?? (cfg.rope_scaling as Record<string, unknown> | null | undefined);
  if (rs === undefined || rs === null) return null;
  const type = rs.rope_type ?? rs.type ?? (fromParameters ? 'default' : undefined); // rope_parameters may hold θ alone
  if (type === 'default') return null;
  if (type !== 'llama3' || !allowLlama3) unsupported(modelType, `${key}.rope_type`, type, allowLlama3 ? 'null, "default", "llama3"' : 'null, "default"');
  const num = (k: string) => {
    const v = rs[k];
    if (typeof v !== 'number' || !(v > 0)) throw new StudioError(ModelErrorCode.badConfig, `config.json: ${key}.${k} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    type: 'llama3',
    factor: num('factor'),
    lowFreqFactor: num('low_freq_factor'),
    highFreqFactor: num('high_freq_factor'),
    originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
  };
}

/** Family-specific choices; everything else in ModelConfig is read the same way for every family. */
export interface FamilyDefaults {
  /** head_dim when config.json has none: hidden / heads unless the family says otherwise */
  headDim?: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  qkNorm: boolean;
  qkvBias: boolean;
  ropeScaling: Llama3RopeScaling | null;
}

/** The fields every decoder family shares, with the family's defaults for missing keys. */
export function commonConfig(modelType: ModelType, cfg: HfConfig, d: FamilyDefaults): ModelConfig {
  checkActivation(modelType, cfg);
  const hiddenSize = requireInt(cfg, 'hidden_size');
  const numHeads = requireInt(cfg, 'num_attention_heads');
  const headDim = cfg.head_dim === undefined || cfg.head_dim === null ? (d.headDim ?? hiddenSize / numHeads) : requireInt(cfg, 'head_dim');
  if (!Number.isInteger(headDim)) unsupported(modelType, 'hidden_size / num_attention_heads', headDim, 'a whole head size');
  return {
    modelType,
    hiddenSize,
    intermediateSize: requireInt(cfg, 'intermediate_size'),
    numLayers: requireInt(cfg, 'num_hidden_layers'),
    numHeads,
    numKvHeads: cfg.num_key_value_heads === undefined ? numHeads : requireInt(cfg, 'num_key_value_heads'),
    headDim,
    vocabSize: requireInt(cfg, 'vocab_size'),
    rmsNormEps: optionalNumber(cfg, 'rms_norm_eps', 1e-6),
    ropeTheta: ropeTheta(cfg, d.ropeTheta),
    ropeScaling: d.ropeScaling,
    tieWordEmbeddings: optionalBool(cfg, 'tie_word_embeddings', false),
    qkNorm: d.qkNorm,
    qkvBias: d.qkvBias,
    maxPositionEmbeddings: optionalNumber(cfg, 'max_position_embeddings', d.maxPositionEmbeddings),
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: eosIds(cfg),
    // transformers ≥ 4.56 writes `dtype`, earlier versions `torch_dtype`
    torchDtype: typeof cfg.torch_dtype === 'string' ? cfg.torch_dtype : typeof cfg.dtype === 'string' ? cfg.dtype : 'float32',
  };
}
