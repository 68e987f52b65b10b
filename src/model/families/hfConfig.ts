import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import type { Llama3RopeScaling, ModelConfig, ModelType } from '../config';
import { FLOAT_LIMITS, SIZE_LIMITS } from '../limits';

/** A config.json as published on the Hub: untyped JSON read through the helpers below. */
export type HfConfig = Record<string, unknown>;

const UNMODIFIED = 'check that the model folder holds an unmodified config.json from the Hub';

/** An integer key with min ≤ value ≤ max (max from SIZE_LIMITS): E112 for a wrong type, E127 above the limit. */
export function requireInt(cfg: HfConfig, key: string, min = 1, max: number = Number.MAX_SAFE_INTEGER): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new StudioError(ModelErrorCode.badConfig, `config.json: '${key}' must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, UNMODIFIED);
  }
  if (v > max) throw new StudioError(ModelErrorCode.outOfLimits, `config.json: '${key}' is ${v}, more than the ${max.toLocaleString('en-US')} any supported model has (src/model/limits.ts)`, UNMODIFIED);
  return v;
}

/** requireInt for an optional key: the fallback when absent or null. */
export function optionalInt(cfg: HfConfig, key: string, fallback: number, min = 1, max: number = Number.MAX_SAFE_INTEGER): number {
  const v = cfg[key];
  return v === undefined || v === null ? fallback : requireInt(cfg, key, min, max);
}

export function optionalNumber(cfg: HfConfig, key: string, fallback: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new StudioError(ModelErrorCode.badConfig, `config.json: '${key}' must be a number, got ${JSON.stringify(v)}`, UNMODIFIED);
  return v;
}

/** A number with 0 < value ≤ max (eps, θ, scaling factors): E112 naming the key otherwise. */
export function optionalPositive(cfg: HfConfig, key: string, fallback: number, max: number, label = key): number {
  const v = optionalNumber(cfg, key, fallback);
  if (!(v > 0 && v <= max)) throw new StudioError(ModelErrorCode.badConfig, `config.json: '${label}' is ${v}; it must be a number with 0 < ${label} ≤ ${max}`, UNMODIFIED);
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
  if (p && p.rope_theta !== undefined && p.rope_theta !== null) return optionalPositive(p, 'rope_theta', fallback, FLOAT_LIMITS.ropeThetaMax, 'rope_parameters.rope_theta');
  return optionalPositive(cfg, 'rope_theta', fallback, FLOAT_LIMITS.ropeThetaMax);
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
  const num = (k: string, max: number = FLOAT_LIMITS.ropeFactorMax) => {
    const v = rs[k];
    if (typeof v !== 'number' || !(v > 0 && v <= max)) throw new StudioError(ModelErrorCode.badConfig, `config.json: ${key}.${k} must be a positive number ≤ ${max}, got ${JSON.stringify(v)}`, UNMODIFIED);
    return v;
  };
  return {
    type: 'llama3',
    factor: num('factor'),
    lowFreqFactor: num('low_freq_factor'),
    highFreqFactor: num('high_freq_factor'),
    originalMaxPositionEmbeddings: num('original_max_position_embeddings', SIZE_LIMITS.positions),
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
  const L = SIZE_LIMITS;
  const hiddenSize = requireInt(cfg, 'hidden_size', 1, L.hidden);
  const numHeads = requireInt(cfg, 'num_attention_heads', 1, L.heads);
  const hasHeadDim = cfg.head_dim !== undefined && cfg.head_dim !== null;
  if (!hasHeadDim && d.headDim === undefined && hiddenSize % numHeads !== 0) {
    throw new StudioError(ModelErrorCode.badConfig, `config.json: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads} (a ${modelType} model without head_dim derives the head size as their quotient)`, UNMODIFIED);
  }
  const headDim = hasHeadDim ? requireInt(cfg, 'head_dim', 1, L.headDim) : (d.headDim ?? hiddenSize / numHeads);
  if (headDim % 2 !== 0) throw new StudioError(ModelErrorCode.badConfig, `config.json: the head size is ${headDim}; it must be even (rotary embeddings rotate pairs of channels)`, UNMODIFIED);
  return {
    modelType,
    hiddenSize,
    intermediateSize: requireInt(cfg, 'intermediate_size', 1, L.intermediate),
    numLayers: requireInt(cfg, 'num_hidden_layers', 1, L.layers),
    numHeads,
    numKvHeads: optionalInt(cfg, 'num_key_value_heads', numHeads, 1, L.heads),
    headDim,
    vocabSize: requireInt(cfg, 'vocab_size', 1, L.vocab),
    rmsNormEps: optionalPositive(cfg, 'rms_norm_eps', 1e-6, FLOAT_LIMITS.rmsNormEpsMax),
    ropeTheta: ropeTheta(cfg, d.ropeTheta),
    ropeScaling: d.ropeScaling,
    tieWordEmbeddings: optionalBool(cfg, 'tie_word_embeddings', false),
    qkNorm: d.qkNorm,
    qkvBias: d.qkvBias,
    maxPositionEmbeddings: optionalInt(cfg, 'max_position_embeddings', d.maxPositionEmbeddings, 1, L.positions),
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: eosIds(cfg),
    // transformers ≥ 4.56 writes `dtype`, earlier versions `torch_dtype`
    torchDtype: typeof cfg.torch_dtype === 'string' ? cfg.torch_dtype : typeof cfg.dtype === 'string' ? cfg.dtype : 'float32',
  };
}
