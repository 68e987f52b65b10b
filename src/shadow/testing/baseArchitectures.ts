import type { BaseArchitecture } from '../baseArchitecture';

/** Real published configs (config.json on the Hugging Face hub), for size and count tests. */
export const QWEN3_0_6B: BaseArchitecture = {
  modelType: 'qwen3',
  hiddenSize: 1024,
  numLayers: 28,
  numHeads: 16,
  numKvHeads: 8,
  headDim: 128,
  intermediateSize: 3072,
  vocabSize: 151936,
  qkNorm: true,
  qkvBias: false,
  rmsNormEps: 1e-6,
  ropeTheta: 1_000_000,
};

export const QWEN3_4B: BaseArchitecture = { ...QWEN3_0_6B, hiddenSize: 2560, numLayers: 36, numHeads: 32, intermediateSize: 9728 };

export const QWEN3_8B: BaseArchitecture = { ...QWEN3_0_6B, hiddenSize: 4096, numLayers: 36, numHeads: 32, intermediateSize: 12288 };

/** Qwen2.5-0.5B: q/k/v biases, no q/k norm, head size 896 / 14 = 64. */
export const QWEN2_5_0_5B: BaseArchitecture = {
  modelType: 'qwen2',
  hiddenSize: 896,
  numLayers: 24,
  numHeads: 14,
  numKvHeads: 2,
  headDim: 64,
  intermediateSize: 4864,
  vocabSize: 151936,
  qkNorm: false,
  qkvBias: true,
  rmsNormEps: 1e-6,
  ropeTheta: 1_000_000,
};
