import type { ModelFamily } from '../family';
import { checkActivation, eosIds, optionalBool, optionalNumber, requireInt, ropeScaling, unsupported } from '../hfConfig';

/** Llama 2/3 layout: SmolLM2, TinyLlama, Llama-3.2 (rope_scaling "llama3"). */
export const llama: ModelFamily = {
  modelType: 'llama',
  label: 'Llama / SmolLM2',
  examples: ['HuggingFaceTB/SmolLM2-135M-Instruct', 'HuggingFaceTB/SmolLM2-360M-Instruct', 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', 'meta-llama/Llama-3.2-1B-Instruct'],
  fromHfConfig(cfg) {
    checkActivation('llama', cfg);
    if (cfg.attention_bias === true) unsupported('llama', 'attention_bias', true, 'false');
    if (cfg.mlp_bias === true) unsupported('llama', 'mlp_bias', true, 'false');
    if (typeof cfg.pretraining_tp === 'number' && cfg.pretraining_tp !== 1) unsupported('llama', 'pretraining_tp', cfg.pretraining_tp, '1');
    const hiddenSize = requireInt(cfg, 'hidden_size');
    const numHeads = requireInt(cfg, 'num_attention_heads');
    return {
      modelType: 'llama',
      hiddenSize,
      intermediateSize: requireInt(cfg, 'intermediate_size'),
      numLayers: requireInt(cfg, 'num_hidden_layers'),
      numHeads,
      numKvHeads: cfg.num_key_value_heads === undefined ? numHeads : requireInt(cfg, 'num_key_value_heads'),
      headDim: cfg.head_dim === undefined || cfg.head_dim === null ? hiddenSize / numHeads : requireInt(cfg, 'head_dim'),
      vocabSize: requireInt(cfg, 'vocab_size'),
      rmsNormEps: optionalNumber(cfg, 'rms_norm_eps', 1e-6),
      ropeTheta: optionalNumber(cfg, 'rope_theta', 10_000),
      ropeScaling: ropeScaling('llama', cfg, true),
      tieWordEmbeddings: optionalBool(cfg, 'tie_word_embeddings', false),
      qkNorm: false,
      qkvBias: false,
      maxPositionEmbeddings: optionalNumber(cfg, 'max_position_embeddings', 2048),
      bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
      eosTokenIds: eosIds(cfg),
      torchDtype: typeof cfg.torch_dtype === 'string' ? cfg.torch_dtype : 'float32',
    };
  },
};
