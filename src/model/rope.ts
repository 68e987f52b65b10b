import { ropeInvFreq } from '../engine/kernels/rope/rope';
import type { ModelConfig } from './config';

/**
 * RoPE inverse frequencies (HS/2) of a model's attention at head size `headDim`, with its rope scaling
 * (Llama 3's "llama3" rule). The base layers and the shadow backbone, a copy of the base
 * architecture, both take them from here.
 */
export function modelInvFreq(config: ModelConfig, headDim = config.headDim): Float32Array {
  const rs = config.ropeScaling;
  return ropeInvFreq(headDim, config.ropeTheta, rs ? { ropeType: 'llama3', factor: rs.factor, lowFreqFactor: rs.lowFreqFactor, highFreqFactor: rs.highFreqFactor, originalMaxPositionEmbeddings: rs.originalMaxPositionEmbeddings } : undefined);
}
