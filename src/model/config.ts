/**
 * The one normalised description of a decoder-only model that every layer above uses. Family
 * modules (families/<model_type>/config.ts) map a Hugging Face config.json onto it.
 */
export type ModelType = 'qwen3' | 'qwen2' | 'llama';

export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface ModelConfig {
  modelType: ModelType;
  /** C */
  hiddenSize: number;
  /** I */
  intermediateSize: number;
  /** L */
  numLayers: number;
  /** NH */
  numHeads: number;
  /** NKV */
  numKvHeads: number;
  /** HS */
  headDim: number;
  /** V */
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  tieWordEmbeddings: boolean;
  /** Qwen3: RMSNorm over each head's q and k before RoPE. */
  qkNorm: boolean;
  /** Qwen2: biases on the q, k and v projections. */
  qkvBias: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** torch_dtype of the checkpoint as published ('bfloat16', 'float32', …). */
  torchDtype: string;
}

/** Parameters of the whole model (embedding and head counted once when tied). */
export function parameterCount(c: ModelConfig): number {
  const C = c.hiddenSize;
  const q = C * c.numHeads * c.headDim + (c.qkvBias ? c.numHeads * c.headDim : 0);
  const kv = 2 * (C * c.numKvHeads * c.headDim + (c.qkvBias ? c.numKvHeads * c.headDim : 0));
  const o = c.numHeads * c.headDim * C;
  const mlp = 3 * C * c.intermediateSize;
  const norms = 2 * C + (c.qkNorm ? 2 * c.headDim : 0);
  const layer = q + kv + o + mlp + norms;
  const embed = c.vocabSize * C;
  return c.numLayers * layer + embed + (c.tieWordEmbeddings ? 0 : embed) + C;
}
