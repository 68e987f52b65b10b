import { StudioError } from '../../engine/errors';
import type { ModelConfig } from '../config';
import { ModelErrorCode } from '../errors';
import type { ModelFamily } from './family';
import type { HfConfig } from './hfConfig';
import { llama } from './llama/config';
import { qwen2 } from './qwen2/config';
import { qwen3 } from './qwen3/config';

/** Supported Hugging Face model_type values. Adding a family = one folder + one line here. */
export const FAMILIES: ReadonlyMap<string, ModelFamily> = new Map([qwen3, qwen2, llama].map((f) => [f.modelType, f]));

export function familyOf(modelType: unknown): ModelFamily {
  const f = typeof modelType === 'string' ? FAMILIES.get(modelType) : undefined;
  if (!f) {
    const supported = [...FAMILIES.values()].map((x) => `${x.modelType} (${x.label}, e.g. ${x.examples[0]})`).join('; ');
    throw new StudioError(ModelErrorCode.unknownModelType, `model_type ${JSON.stringify(modelType)} is not supported; supported: ${supported}`, 'pick a model of a supported family');
  }
  return f;
}

/** config.json (parsed) → ModelConfig, with coded errors for anything unsupported. */
export function modelConfigFromHf(cfg: HfConfig): ModelConfig {
  const config = familyOf(cfg.model_type).fromHfConfig(cfg);
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new StudioError(ModelErrorCode.badConfig, `config.json: num_attention_heads ${config.numHeads} is not a multiple of num_key_value_heads ${config.numKvHeads}`, 'check that the model folder holds an unmodified config.json from the Hub');
  }
  return config;
}
