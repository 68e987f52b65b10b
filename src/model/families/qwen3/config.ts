import type { ModelFamily } from '../family';
import { commonConfig, ropeScaling, unsupported } from '../hfConfig';

/** Qwen3 dense models: q/k RMSNorm per head before RoPE, an explicit head_dim, no biases. Missing keys take transformers' Qwen3Config defaults. */
export const qwen3: ModelFamily = {
  modelType: 'qwen3',
  label: 'Qwen3',
  examples: ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-1.7B'],
  fromHfConfig(cfg) {
    if (cfg.attention_bias === true) unsupported('qwen3', 'attention_bias', true, 'false');
    if (cfg.use_sliding_window === true) unsupported('qwen3', 'use_sliding_window', true, 'false');
    // transformers' Qwen3Config defaults head_dim to 128, not hidden_size / num_attention_heads.
    return commonConfig('qwen3', cfg, { headDim: 128, ropeTheta: 10_000, maxPositionEmbeddings: 32_768, qkNorm: true, qkvBias: false, ropeScaling: ropeScaling('qwen3', cfg, false) });
  },
};
