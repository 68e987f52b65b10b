import type { ModelFamily } from '../family';
import { checkActivation, eosIds, optionalBool, optionalNumber, requireInt, unsupported } from '../hfConfig';

/** Qwen3 dense models: q/k RMSNorm per head before RoPE, an explicit head_dim, no biases. Missing keys take transformers' Qwen3Config defaults. */
export const qwen3: ModelFamily = {
  modelType: 'qwen3',
  label: 'Qwen3',
  examples: ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-1.7B'],
  fromHfConfig(cfg) {
    checkActivation('qwen3', cfg);
    if (cfg.attention_bias === true) unsupported('qwen3', 'attention_bias', true, 'false');
    if (cfg.use_sliding_window === true) unsupported('qwen3', 'use_sliding_window', true, 'false');
    if (cfg.rope_scaling) unsupported('qwen3', 'rope_scaling', cfg.rope_scaling, 'null');
    const hiddenSize = requireInt(cfg, 'hidden_size');
    const numHeads = requireInt(cfg, 'num_attention_heads');
    return {
      modelType: 'qwen3',
      hiddenSize,
      intermediateSize: requireInt(cfg, 'intermediate_size'),
      numLayers: requireInt(cfg, 'num_hidden_layers'),
      numHeads,
      numKvHeads: cfg.num_key_value_heads === undefined ? numHeads : requireInt(cfg, 'num_key_value_heads'),
      // transformers' Qwen3Config defaults head_dim to 128, not hidden_size / num_attention_heads.
      headDim: cfg.head_dim === undefined || cfg.head_dim === null ? 128 : requireInt(cfg, 'head_dim'),
      vocabSize: requireInt(cfg, 'vocab_size'),
      rmsNormEps: optionalNumber(cfg, 'rms_norm_eps', 1e-6),
      ropeTheta: optionalNumber(cfg, 'rope_theta', 10_000),
      ropeScaling: null,
      tieWordEmbeddings: optionalBool(cfg, 'tie_word_embeddings', false),
      qkNorm: true,
      qkvBias: false,
      maxPositionEmbeddings: optionalNumber(cfg, 'max_position_embeddings', 32_768),
      bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
      eosTokenIds: eosIds(cfg),
      torchDtype: typeof cfg.torch_dtype === 'string' ? cfg.torch_dtype : 'float32',
    };
  },
};
