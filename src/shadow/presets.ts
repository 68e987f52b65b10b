import type { ShadowConfig } from './config';
import { DEFAULT_SHADOW_CONFIG } from './config';

/** Training hyperparameters of a recipe (src/train interprets them). */
export interface RecipeTraining {
  optimizer: 'adamw';
  learningRate: number;
  /** AdamW decoupled weight decay, applied to ≥2-D tensors only (see AdapterTensorSpec.decay). */
  weightDecay: number;
  /** Fraction of all steps spent warming up linearly from 0. */
  warmupRatio: number;
  /** Learning-rate decay after warm-up. */
  schedule: 'linear';
  /** λ: weight of the shadow-only LM loss, loss = CE(base) + λ·CE(shadow). */
  shadowLossWeight: number;
  /** Sequences per optimizer step. */
  batchSize: number;
  /** Tokens per sequence (prompt + answer), longer ones are cut. */
  maxLength: number;
  epochs: number;
}

export interface ShadowPreset {
  id: string;
  name: string;
  /** One line for the UI. */
  description: string;
  shadow: ShadowConfig;
  training: RecipeTraining;
}

/** The authors' common recipe (SHADOWPEFT.md §10): N_s 1, I_s 256, R 16, G 10, α 0.1, p 0.2. */
function recipeShadow(overrides: Partial<ShadowConfig> = {}): ShadowConfig {
  return {
    ...DEFAULT_SHADOW_CONFIG,
    modules_to_save: [],
    alpha: 0.1,
    dropout: 0.2,
    num_shadow_layers: 1,
    shadow_intermediate_size: 256,
    injection_hidden_size: 16,
    gate_hidden_size: 10,
    ...overrides,
  };
}

const RECIPE_TRAINING: Omit<RecipeTraining, 'learningRate' | 'batchSize' | 'epochs'> = {
  optimizer: 'adamw',
  weightDecay: 0.01,
  warmupRatio: 0.01,
  schedule: 'linear',
  shadowLossWeight: 0.05,
  maxLength: 512,
};

/**
 * Presets after the authors' runs (SHADOWPEFT.md §10; batch sizes and epochs as in their Qwen3 scripts:
 * 32 on 0.6B, 16 on 4B/8B). The large-model variants also narrow the shadow's attention as the authors
 * did (16 query heads on 4B, 8 on 8B; both bases have 8 kv heads).
 */
export const SHADOW_PRESETS: readonly ShadowPreset[] = [
  {
    id: 'reasoning',
    name: 'GSM8K-style reasoning',
    description: 'Step-by-step answers (math word problems): lr 3e-3, 4 epochs; GSM8K 48.9 on Qwen3-0.6B.',
    shadow: recipeShadow(),
    training: { ...RECIPE_TRAINING, learningRate: 3e-3, batchSize: 32, epochs: 4 },
  },
  {
    id: 'extractive-qa',
    name: 'SQuAD-style extractive QA',
    description: 'Answer from a given passage, or say it has no answer: lr 1e-3, 2 epochs.',
    shadow: recipeShadow(),
    training: { ...RECIPE_TRAINING, learningRate: 1e-3, batchSize: 32, epochs: 2 },
  },
  {
    id: 'classification',
    name: 'MMLU / classification',
    description: 'Pick one label or choice letter: gentle lr 2e-4, 2 epochs.',
    shadow: recipeShadow(),
    training: { ...RECIPE_TRAINING, learningRate: 2e-4, batchSize: 32, epochs: 2 },
  },
  {
    id: 'reasoning-4b',
    name: 'GSM8K-style reasoning, 4B base',
    description: 'Reasoning recipe for Qwen3-4B: gate width 8, 16 shadow query heads, batch 16; GSM8K 79.',
    shadow: recipeShadow({ gate_hidden_size: 8, shadow_num_attention_heads: 16 }),
    training: { ...RECIPE_TRAINING, learningRate: 3e-3, batchSize: 16, epochs: 4 },
  },
  {
    id: 'reasoning-8b',
    name: 'GSM8K-style reasoning, 8B base',
    description: 'Reasoning recipe for Qwen3-8B: gate width 8, 8 shadow query heads, batch 16; GSM8K 80.7.',
    shadow: recipeShadow({ gate_hidden_size: 8, shadow_num_attention_heads: 8 }),
    training: { ...RECIPE_TRAINING, learningRate: 3e-3, batchSize: 16, epochs: 4 },
  },
];

export function shadowPreset(id: string): ShadowPreset | undefined {
  return SHADOW_PRESETS.find((p) => p.id === id);
}
