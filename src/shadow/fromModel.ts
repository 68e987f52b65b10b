import type { ModelConfig } from '../model/config';
import type { LayerDims } from '../model/layerDims';
import type { BaseArchitecture } from './baseArchitecture';
import type { ResolvedShadow } from './resolve';

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
