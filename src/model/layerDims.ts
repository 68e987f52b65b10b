import type { ModelConfig } from './config';

/** What one decoder layer's kernels need to know about its shape. */
export interface LayerDims {
  /** C */
  hidden: number;
  /** NH */
  heads: number;
  /** NKV */
  kvHeads: number;
  /** HS */
  headDim: number;
  /** I */
  intermediate: number;
  eps: number;
  qkNorm: boolean;
  qkvBias: boolean;
}

export function layerDimsOf(c: ModelConfig): LayerDims {
  return {
    hidden: c.hiddenSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    intermediate: c.intermediateSize,
    eps: c.rmsNormEps,
    qkNorm: c.qkNorm,
    qkvBias: c.qkvBias,
  };
}
