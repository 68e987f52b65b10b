import type { ModelFamily } from '../family';
import { commonConfig, ropeScaling, unsupported } from '../hfConfig';

/** Llama 2/3 layout: SmolLM2, TinyLlama, Llama-3.2 (rope_scaling "llama3"). */
export const llama: ModelFamily = {
  modelType: 'llama',
  label: 'Llama / SmolLM2',
  examples: ['HuggingFaceTB/SmolLM2-135M-Instruct', 'HuggingFaceTB/SmolLM2-360M-Instruct', 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', 'meta-llama/Llama-3.2-1B-Instruct'],
  fromHfConfig(cfg) {
    if (cfg.attention_bias === true) unsupported('llama', 'attention_bias', true, 'false');
    if (cfg.mlp_bias === true) unsupported('llama', 'mlp_bias', true, 'false');
    if (typeof cfg.pretraining_tp === 'number' && cfg.pretraining_tp !== 1) unsupported('llama', 'pretraining_tp', cfg.pretraining_tp, '1');
    return commonConfig('llama', cfg, { ropeTheta: 10_000, maxPositionEmbeddings: 2048, qkNorm: false, qkvBias: false, ropeScaling: ropeScaling('llama', cfg, true) });
  },
};
