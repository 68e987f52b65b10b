import type { ModelConfig } from '../model/config';
import type { LayerDims } from '../model/layerDims';
import type { BaseArchitecture } from './baseArchitecture';
import type { ShadowConfig } from './config';
import type { ExplicitShadow } from './explicitShadow';
import { explicitShadowModelConfig } from './explicitShadow';
import type { ResolvedShadow } from './resolve';
import { resolveExplicitShadow, resolveShadow } from './resolve';

/** The base facts the shadow needs, from a loaded model's config. */
export function baseArchitectureOf(c: ModelConfig): BaseArchitecture {
  return {
    modelType: c.modelType,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    intermediateSize: c.intermediateSize,
    vocabSize: c.vocabSize,
    qkNorm: c.qkNorm,
    qkvBias: c.qkvBias,
    rmsNormEps: c.rmsNormEps,
    ropeTheta: c.ropeTheta,
  };
}

/** The shadow backbone's decoder layers as the model layer's kernels see them. */
export function shadowLayerDims(r: ResolvedShadow): LayerDims {
  const b = r.backbone;
  return { hidden: b.C, heads: b.NH, kvHeads: b.NKV, headDim: b.HS, intermediate: b.I, eps: b.rmsNormEps, qkNorm: b.qkNorm, qkvBias: b.qkvBias };
}

/** A ShadowConfig made concrete on a loaded base: the implicit shadow, or the given explicit one. */
export function resolveShadowOn(config: ShadowConfig, base: ModelConfig, explicit: ExplicitShadow | null = null): ResolvedShadow {
  if (!explicit) return resolveShadow(config, baseArchitectureOf(base));
  return resolveExplicitShadow(config, baseArchitectureOf(base), baseArchitectureOf(explicitShadowModelConfig(explicit)), { ownEmbeddings: explicit.ownEmbeddings, freezeEmbeddings: explicit.freezeEmbeddings });
}
