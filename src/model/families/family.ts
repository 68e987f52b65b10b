import type { ModelConfig, ModelType } from '../config';
import type { HfConfig } from './hfConfig';

/** One Hugging Face model_type: how its config.json maps onto ModelConfig. */
export interface ModelFamily {
  modelType: ModelType;
  label: string;
  /** Hub repos known to work, shown in errors and the model picker. */
  examples: readonly string[];
  fromHfConfig(cfg: HfConfig): ModelConfig;
}
