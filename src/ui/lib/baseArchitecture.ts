import type { BaseArchitecture } from '../../shadow/baseArchitecture';
import type { ModelInfo } from '../../../workers/api';

const SUPPORTED: readonly BaseArchitecture['modelType'][] = ['qwen3', 'qwen2', 'llama'];

/**
 * The few base-model facts the shadow parameter count needs, from the Model screen's ModelInfo. The
 * count does not depend on the norm epsilon or rope theta, so typical values stand in for them.
 * Returns null for an architecture the shadow does not support.
 */
export function baseArchitectureOf(info: ModelInfo): BaseArchitecture | null {
  const modelType = SUPPORTED.find((t) => t === info.modelType.toLowerCase());
  if (!modelType) return null;
  return {
    modelType,
    hiddenSize: info.hidden,
    numLayers: info.layers,
    numHeads: info.heads,
    numKvHeads: info.kvHeads,
    headDim: info.headDim,
    intermediateSize: info.intermediate,
    vocabSize: info.vocab,
    qkNorm: modelType === 'qwen3',
    qkvBias: modelType === 'qwen2',
    rmsNormEps: 1e-6,
    ropeTheta: 1e6,
  };
}
