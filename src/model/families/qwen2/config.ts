import type { ModelFamily } from '../family';
import { commonConfig, ropeScaling, unsupported } from '../hfConfig';

/** Qwen2 / Qwen2.5: biases on q, k and v; head_dim = hidden / heads. Missing keys take transformers' Qwen2Config defaults. */
export const qwen2: ModelFamily = {
  modelType: 'qwen2',
  label: 'Qwen2 / Qwen2.5',
  examples: ['Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-1.5B-Instruct'],
  fromHfConfig(cfg) {
    if (cfg.use_sliding_window === true) unsupported('qwen2', 'use_sliding_window', true, 'false');
    return commonConfig('qwen2', cfg, { ropeTheta: 10_000, maxPositionEmbeddings: 32_768, qkNorm: false, qkvBias: true, ropeScaling: ropeScaling('qwen2', cfg, false) });
  },
};
