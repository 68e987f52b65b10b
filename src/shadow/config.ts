import { StudioError } from '../engine/errors';
import { SIZE_LIMITS } from '../model/limits';
import { ShadowErrorCode } from './errors';

/**
 * The ShadowPEFT adapter configuration, field for field as in `shadow_config.json` of the reference
 * package (`shadow_peft.config.ShadowConfig`); snake_case on purpose so that the JSON maps 1:1.
 * It says nothing about the base model: sizes left null are taken from the base (see resolve.ts).
 */
export interface ShadowConfig {
  /** Injection scale α: h̃ = h + α · up(dropout(down(h − s))). A float in the JSON. */
  alpha: number;
  /** Dropout p on the injection bottleneck and inside the update transforms, 0 ≤ p < 1. A float in the JSON. */
  dropout: number;
  /** G: hidden width of the per-slot update gate and transform MLPs, ≥ 2. */
  gate_hidden_size: number;
  /** R: rank of the per-slot injection down/up projections, ≥ 1. */
  injection_hidden_size: number;
  /** Extra modules saved beside the adapter (e.g. "lm_head", "shadow_lm_head"); empty by default. */
  modules_to_save: string[];
  /** N_s: decoder layers in the implicit shadow backbone, ≥ 1. */
  num_shadow_layers: number;
  /** HS_s; null = the base model's head size. */
  shadow_head_dim: number | null;
  /** I_s; null = the base model's MLP width. */
  shadow_intermediate_size: number | null;
  /** NH_s; null = the base model's query heads. */
  shadow_num_attention_heads: number | null;
  /** NKV_s; null = the base model's key/value heads. */
  shadow_num_key_value_heads: number | null;
}

/** The float-typed fields: Python writes them with a decimal point even when whole (1.0, 0.0). */
export const SHADOW_FLOAT_FIELDS = ['alpha', 'dropout'] as const;
export const SHADOW_INT_FIELDS = ['gate_hidden_size', 'injection_hidden_size', 'num_shadow_layers'] as const;
export const SHADOW_NULLABLE_INT_FIELDS = ['shadow_head_dim', 'shadow_intermediate_size', 'shadow_num_attention_heads', 'shadow_num_key_value_heads'] as const;
/** All ten fields, in the sorted order `json.dumps(sort_keys=True)` writes them. */
export const SHADOW_CONFIG_FIELDS = [
  'alpha',
  'dropout',
  'gate_hidden_size',
  'injection_hidden_size',
  'modules_to_save',
  'num_shadow_layers',
  'shadow_head_dim',
  'shadow_intermediate_size',
  'shadow_num_attention_heads',
  'shadow_num_key_value_heads',
] as const satisfies readonly (keyof ShadowConfig)[];

/**
 * The reference package's own defaults (shadow_peft/config.py, checked against its source): a config
 * saved from `ShadowConfig()` in Python loads here as exactly this. Note dropout is 0.1 in the package;
 * the authors' recipes train with 0.2 and I_s 256 — those live in presets.ts, not here.
 */
export const DEFAULT_SHADOW_CONFIG: Readonly<ShadowConfig> = Object.freeze({
  alpha: 0.1,
  dropout: 0.1,
  gate_hidden_size: 10,
  injection_hidden_size: 16,
  modules_to_save: [],
  num_shadow_layers: 1,
  shadow_head_dim: null,
  shadow_intermediate_size: null,
  shadow_num_attention_heads: null,
  shadow_num_key_value_heads: null,
});

/** Defaults plus overrides, validated (base-independent rules; resolve.ts checks the rest). */
export function shadowConfig(overrides: Partial<ShadowConfig> = {}): ShadowConfig {
  const config: ShadowConfig = { ...DEFAULT_SHADOW_CONFIG, modules_to_save: [...DEFAULT_SHADOW_CONFIG.modules_to_save], ...overrides };
  validateShadowConfig(config);
  return config;
}

/** Throws the first problem of `shadowConfigIssues`. */
export function validateShadowConfig(config: ShadowConfig): void {
  const first = shadowConfigIssues(config)[0];
  if (first) throw first;
}

/**
 * Every rule that needs no base model, as coded errors (a form can show all of them at once).
 * Rules needing the base (≥ 2 base layers, heads a multiple of kv heads) are checked in resolve.ts.
 */
export function shadowConfigIssues(c: ShadowConfig): StudioError[] {
  const issues: StudioError[] = [];
  const intBetween = (field: keyof ShadowConfig, min: number, max: number, code: string, why: string) => {
    const v = c[field];
    if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max)) {
      issues.push(new StudioError(code, `${field} is ${show(v)}; it must be an integer ≥ ${min} and ≤ ${max.toLocaleString('en-US')} (${why})`, `set ${field} between ${min} and ${max.toLocaleString('en-US')}; the default is ${show(DEFAULT_SHADOW_CONFIG[field])}`));
    }
  };
  intBetween('num_shadow_layers', 1, SIZE_LIMITS.layers, ShadowErrorCode.tooFewShadowLayers, 'the shadow backbone needs at least one decoder layer');
  intBetween('injection_hidden_size', 1, SIZE_LIMITS.adapterWidth, ShadowErrorCode.injectionTooSmall, 'the injection rank R');
  intBetween('gate_hidden_size', 2, SIZE_LIMITS.adapterWidth, ShadowErrorCode.gateTooSmall, 'the update gate width G; the reference package refuses less than 2');

  if (!(typeof c.alpha === 'number' && Number.isFinite(c.alpha) && Math.abs(c.alpha) <= SHADOW_HYPER_LIMITS.alphaMax)) {
    issues.push(new StudioError(ShadowErrorCode.alphaNotFinite, `alpha is ${show(c.alpha)}; it must be a finite number with |alpha| ≤ ${SHADOW_HYPER_LIMITS.alphaMax}`, 'the authors use 0.1 (up to 2.0 for classification)'));
  }
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1)) {
    issues.push(new StudioError(ShadowErrorCode.dropoutOutOfRange, `dropout is ${show(c.dropout)}; it must be a number with 0 ≤ dropout < 1`, 'the authors use 0.1–0.2'));
  }
  const maxOf: Record<(typeof SHADOW_NULLABLE_INT_FIELDS)[number], number> = {
    shadow_head_dim: SIZE_LIMITS.headDim,
    shadow_intermediate_size: SIZE_LIMITS.intermediate,
    shadow_num_attention_heads: SIZE_LIMITS.heads,
    shadow_num_key_value_heads: SIZE_LIMITS.heads,
  };
  for (const field of SHADOW_NULLABLE_INT_FIELDS) {
    const v = c[field];
    if (v !== null && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= maxOf[field])) {
      issues.push(new StudioError(ShadowErrorCode.badShadowSize, `${field} is ${show(v)}; it must be null (take the base model's value) or an integer ≥ 1 and ≤ ${maxOf[field].toLocaleString('en-US')}`, `clear ${field} or give a positive whole number`));
    }
  }
  if (!Array.isArray(c.modules_to_save) || c.modules_to_save.some((m) => typeof m !== 'string' || m === '')) {
    issues.push(new StudioError(ShadowErrorCode.badModulesToSave, `modules_to_save is ${show(c.modules_to_save)}; it must be a list of module names (non-empty strings)`, 'use [] unless you also train e.g. "lm_head"'));
  }
  return issues;
}

/**
 * Ranges of the adapter's float hyper-parameters and of λ, checked alike when an adapter is saved,
 * loaded, or a batch names λ (cli dump). Sizes are bounded by SIZE_LIMITS (src/model/limits.ts).
 */
export const SHADOW_HYPER_LIMITS = {
  /** |α|: the authors use 0.1 (up to 2.0); 1e3 already swamps the base's hidden state in f32 */
  alphaMax: 1000,
  /** λ, the shadow loss weight: 0 ≤ λ ≤ 100 (the authors use 0.05) */
  shadowLossWeightMax: 100,
} as const;

/** The problem with a shadow loss weight λ, or null: a finite number with 0 ≤ λ ≤ 100. */
export function shadowLossWeightIssue(v: unknown, where: string): StudioError | null {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= SHADOW_HYPER_LIMITS.shadowLossWeightMax) return null;
  return new StudioError(ShadowErrorCode.lossWeightOutOfRange, `${where}shadow_loss_weight is ${show(v)}; it must be a number with 0 ≤ λ ≤ ${SHADOW_HYPER_LIMITS.shadowLossWeightMax}`, 'the authors use 0.05');
}

/** A value as a message shows it: JSON where possible, so strings keep their quotes. */
export function show(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
