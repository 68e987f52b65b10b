import type { ModelFamily } from '../family';
import { checkActivation, eosIds, optionalBool, optionalNumber, requireInt, unsupported } from '../hfConfig';

/** Qwen2 / Qwen2.5: biases on q, k and v; head_dim = hidden / heads. Missing keys take transformers' Qwen2Config defaults. */
export const qwen2: ModelFamily = {
  modelType: 'qwen2',
  label: 'Qwen2 / Qwen2.5',
  examples: ['Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-1.5B-Instruct'],
  fromHfConfig(cfg) {
    checkActivation('qwen2', cfg);
    if (cfg.use_sliding_window === true) unsupported('qwen2', 'use_sliding_window', true, 'false');
    if (cfg.rope_scaling) unsupported('qwen2', 'rope_scaling', cfg.rope_scaling, 'null');
    const hiddenSize = requireInt(cfg, 'hidden_size');
    const numHeads = requireInt(cfg, 'num_attention_heads');
    if (hiddenSize % numHeads !== 0) unsupported('qwen2', 'hidden_size / num_attention_heads', hiddenSize / numHeads, 'a whole head size');
    return {
      modelType: 'qwen2',
      hiddenSize,
      intermediateSize: requireInt(cfg, 'intermediate_size'),
      numLayers: requireInt(cfg, 'num_hidden_layers'),
      numHeads,
      numKvHeads: cfg.num_key_value_heads === undefined ? numHeads : requireInt(cfg, 'num_key_value_heads'),
      headDim: hiddenSize / numHeads,
      vocabSize: requireInt(cfg, 'vocab_size'),
      rmsNormEps: optionalNumber(cfg, 'rms_norm_eps', 1e-6),
      ropeTheta: optionalNumber(cfg, 'rope_theta', 10_000),
      ropeScaling: null,
      tieWordEmbeddings: optionalBool(cfg, 'tie_word_embeddings', false),
      qkNorm: false,
      qkvBias: true,
      maxPositionEmbeddings: optionalNumber(cfg, 'max_position_embeddings', 32_768),
      bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
      eosTokenIds: eosIds(cfg),
      torchDtype: typeof cfg.torch_dtype === 'string' ? cfg.torch_dtype : 'float32',
    };
  },
};
