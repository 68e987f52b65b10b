import { StudioError } from '../engine/errors';
import type { BaseArchitecture } from './baseArchitecture';
import { validateBaseArchitecture } from './baseArchitecture';
import type { ShadowConfig } from './config';
import { validateShadowConfig } from './config';
import { ShadowErrorCode } from './errors';

export type { BaseArchitecture } from './baseArchitecture';

/** The concrete architecture of the shadow backbone's decoder layers. */
export interface ShadowBackboneArch {
  modelType: BaseArchitecture['modelType'];
  /** N_s: decoder layers */
  N: number;
  /** C_s: width of the shadow backbone (= base C for an implicit shadow) */
  C: number;
  /** NH_s */
  NH: number;
  /** NKV_s */
  NKV: number;
  /** HS_s */
  HS: number;
  /** I_s */
  I: number;
  qkNorm: boolean;
  qkvBias: boolean;
  /** o_proj bias: only Llama's attention_bias sets it (Qwen2 biases q/k/v but not o). */
  oBias: boolean;
  rmsNormEps: number;
  ropeTheta: number;
}

/** A ShadowConfig made concrete against one base model: every size the kernels and files need. */
export interface ResolvedShadow {
  config: ShadowConfig;
  /** C: base hidden size (width of the injection/update path and of the shadow state s) */
  C: number;
  /** L: base decoder layers */
  L: number;
  /** L − 1 adapter slots (injection before layers 1…L−1, update after them) */
  slots: number;
  /** R = injection_hidden_size */
  R: number;
  /** G = gate_hidden_size */
  G: number;
  alpha: number;
  dropout: number;
  backbone: ShadowBackboneArch;
  /** Explicit (separately pretrained) shadow: its own architecture, config's shadow_* fields unused. */
  explicit: boolean;
  /** V_s when the shadow keeps its own token embeddings (explicit only), else null (shares the base's). */
  ownEmbeddingRows: number | null;
  /** shadow_hidden_projection (C, C_s) exists: only when C_s ≠ C. */
  projection: boolean;
  /** The own embeddings are kept as loaded (in the file, but neither trained nor counted as trainable). */
  frozenEmbeddings: boolean;
}

/**
 * Resolves an implicit shadow (the default): a copy of the base decoder-layer architecture with
 * num_shadow_layers layers and the shadow_* overrides, null meaning "the base value".
 */
export function resolveShadow(config: ShadowConfig, base: BaseArchitecture): ResolvedShadow {
  validateShadowConfig(config);
  validateBaseArchitecture(base);
  checkBaseDepth(base);
  const NH = config.shadow_num_attention_heads ?? base.numHeads;
  const NKV = config.shadow_num_key_value_heads ?? base.numKvHeads;
  const HS = resolveHeadDim(config, base, NH);
  checkHeads(NH, NKV, HS, config);
  return {
    ...adapterSizes(config, base),
    backbone: {
      ...layerFlags(base),
      N: config.num_shadow_layers,
      C: base.hiddenSize,
      NH,
      NKV,
      HS,
      I: config.shadow_intermediate_size ?? base.intermediateSize,
    },
    explicit: false,
    ownEmbeddingRows: null,
    projection: false,
    frozenEmbeddings: false,
  };
}

/**
 * Resolves an explicit shadow (docs/shadowpeft.md §6): a separately pretrained model used as it is. As in the
 * reference package, num_shadow_layers and the shadow_* overrides of the config do not apply to it.
 * A width C_s ≠ C adds shadow_hidden_projection; sharing the base's embeddings needs C_s = C.
 */
export function resolveExplicitShadow(config: ShadowConfig, base: BaseArchitecture, shadow: BaseArchitecture, opts: { ownEmbeddings: boolean; freezeEmbeddings?: boolean }): ResolvedShadow {
  validateShadowConfig(config);
  validateBaseArchitecture(base);
  validateBaseArchitecture(shadow, 'explicit shadow model');
  checkBaseDepth(base);
  if (!opts.ownEmbeddings && shadow.hiddenSize !== base.hiddenSize) {
    throw new StudioError(
      ShadowErrorCode.explicitShadowMismatch,
      `the explicit shadow is ${shadow.hiddenSize} wide but would be fed the base embeddings, which are ${base.hiddenSize} wide`,
      'let the shadow keep its own embeddings, or use a shadow of the base width',
    );
  }
  // Vocabulary sizes are padded differently across one family (Qwen2.5-0.5B 151,936 rows, -7B 152,064,
  // one tokenizer), so the shadow's table is checked against the token ids themselves (shadowModel.ts).
  return {
    ...adapterSizes(config, base),
    backbone: {
      ...layerFlags(shadow),
      N: shadow.numLayers,
      C: shadow.hiddenSize,
      NH: shadow.numHeads,
      NKV: shadow.numKvHeads,
      HS: shadow.headDim,
      I: shadow.intermediateSize,
    },
    explicit: true,
    ownEmbeddingRows: opts.ownEmbeddings ? shadow.vocabSize : null,
    projection: shadow.hiddenSize !== base.hiddenSize,
    frozenEmbeddings: opts.ownEmbeddings && !!opts.freezeEmbeddings,
  };
}

function adapterSizes(config: ShadowConfig, base: BaseArchitecture) {
  return {
    config,
    C: base.hiddenSize,
    L: base.numLayers,
    slots: base.numLayers - 1,
    R: config.injection_hidden_size,
    G: config.gate_hidden_size,
    alpha: config.alpha,
    dropout: config.dropout,
  };
}

function layerFlags(a: BaseArchitecture) {
  return {
    modelType: a.modelType,
    qkNorm: a.qkNorm,
    qkvBias: a.qkvBias,
    oBias: a.modelType === 'llama' && a.qkvBias,
    rmsNormEps: a.rmsNormEps,
    ropeTheta: a.ropeTheta,
  };
}

function checkBaseDepth(base: BaseArchitecture): void {
  if (base.numLayers < 2) {
    throw new StudioError(
      ShadowErrorCode.baseTooShallow,
      `the base model has ${base.numLayers} decoder layer(s); ShadowPEFT needs at least 2 (injection starts before layer 1)`,
      'choose a base model with 2 or more layers',
    );
  }
}

/**
 * HS_s. shadow_head_dim wins; otherwise the base value — except for Qwen2 with overridden query heads:
 * its HF config has no head_dim field, so transformers derives hidden_size / num_attention_heads, and an
 * adapter saved by the reference package has that size. Qwen3 and Llama configs store head_dim, which
 * the override leaves alone.
 */
function resolveHeadDim(config: ShadowConfig, base: BaseArchitecture, NH: number): number {
  if (config.shadow_head_dim !== null) return config.shadow_head_dim;
  if (base.modelType === 'qwen2' && config.shadow_num_attention_heads !== null) {
    if (base.hiddenSize % NH !== 0) {
      throw new StudioError(
        ShadowErrorCode.badShadowSize,
        `shadow_num_attention_heads is ${NH}, which does not divide the Qwen2 hidden size ${base.hiddenSize} (Qwen2 derives the head size as hidden_size / heads)`,
        `pick a divisor of ${base.hiddenSize}, or also set shadow_head_dim`,
      );
    }
    return base.hiddenSize / NH;
  }
  return base.headDim;
}

function checkHeads(NH: number, NKV: number, HS: number, config: ShadowConfig): void {
  if (NH % NKV !== 0) {
    const src = (v: number | null) => (v === null ? ' (the base value)' : '');
    throw new StudioError(
      ShadowErrorCode.headsNotMultiple,
      `shadow_num_attention_heads resolves to ${NH}${src(config.shadow_num_attention_heads)} and shadow_num_key_value_heads to ${NKV}${src(config.shadow_num_key_value_heads)}; query heads must be a multiple of key/value heads`,
      `choose shadow_num_key_value_heads among the divisors of ${NH}`,
    );
  }
  if (HS % 2 !== 0) {
    throw new StudioError(ShadowErrorCode.headDimOdd, `the shadow head size resolves to ${HS}; it must be even (rotary embeddings rotate pairs of channels)`, 'set shadow_head_dim to an even number');
  }
}
