import { StudioError } from '../engine/errors';
import { show } from './config';
import { ShadowErrorCode } from './errors';

/**
 * The few facts about a base model that the shadow needs, independent of how src/model parses an HF
 * config.json. Sizes use the dimension vocabulary of src/engine/README.md.
 */
export interface BaseArchitecture {
  modelType: 'qwen3' | 'qwen2' | 'llama';
  /** C */
  hiddenSize: number;
  /** L: decoder layers */
  numLayers: number;
  /** NH */
  numHeads: number;
  /** NKV */
  numKvHeads: number;
  /** HS */
  headDim: number;
  /** I */
  intermediateSize: number;
  /** V */
  vocabSize: number;
  /** RMSNorm over HS on q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  /** Bias on q/k/v projections (Qwen2 always; Llama's attention_bias, which also biases o_proj). */
  qkvBias: boolean;
  rmsNormEps: number;
  ropeTheta: number;
}

/** Throws E213 naming the first inconsistent field. */
export function validateBaseArchitecture(base: BaseArchitecture, label = 'base model'): void {
  const positiveInts = ['hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'vocabSize'] as const;
  for (const f of positiveInts) {
    const v = base[f];
    if (!(Number.isSafeInteger(v) && v >= 1)) throw bad(label, `${f} is ${show(v)}; it must be an integer ≥ 1`);
  }
  if (!['qwen3', 'qwen2', 'llama'].includes(base.modelType)) throw bad(label, `modelType is ${show(base.modelType)}; supported: qwen3, qwen2, llama`);
  if (base.numHeads % base.numKvHeads !== 0) throw bad(label, `numHeads ${base.numHeads} is not a multiple of numKvHeads ${base.numKvHeads}`);
  if (base.headDim % 2 !== 0) throw bad(label, `headDim ${base.headDim} is odd; rotary embeddings need an even head size`);
  if (!(base.rmsNormEps > 0 && Number.isFinite(base.rmsNormEps))) throw bad(label, `rmsNormEps is ${show(base.rmsNormEps)}; it must be a positive number`);
  if (!(base.ropeTheta > 0 && Number.isFinite(base.ropeTheta))) throw bad(label, `ropeTheta is ${show(base.ropeTheta)}; it must be a positive number`);
}

function bad(label: string, what: string): StudioError {
  return new StudioError(ShadowErrorCode.badBaseArchitecture, `${label}: ${what}`, 'check the model\'s config.json');
}
