import type { ModelConfig } from '../model/config';
import { parameterCount } from '../model/config';
import type { BaseArchitecture } from './baseArchitecture';
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
  /**
   * Sequences per GPU pass, where the recipe fixes it (small models on slow GPUs); omitted: the caller
   * splits batchSize by its own limit (the studio 8, the CLI 4) and accumulates the rest.
   */
  microBatchSize?: number;
  /** Tokens per sequence (prompt + answer), longer ones are cut. Never more than the base's positions. */
  maxLength: number;
  epochs: number;
}

/**
 * Base models by total parameters (parameterCount: embeddings once when tied). The recipes differ by
 * class in what a browser GPU holds and how fast it goes, not in the method.
 */
export type ModelSizeClass = 'tiny' | 'small' | 'medium' | 'large';

export interface ModelSizeClassInfo {
  id: ModelSizeClass;
  /** A heading for the preset list. */
  label: string;
  /** The class in a sentence ("size class …"). */
  short: string;
  /** Models of the class, for the UI. */
  examples: string;
  /** The class holds models with fewer parameters than this (and at least the previous class's bound). */
  below: number;
}

export const MODEL_SIZE_CLASSES: readonly ModelSizeClassInfo[] = [
  { id: 'tiny', label: 'Tiny models (under 50M parameters)', short: 'tiny (under 50M)', examples: 'the bundled KJV Llama 3M', below: 50e6 },
  { id: 'small', label: '~135M models', short: '~135M (50M–400M)', examples: 'SmolLM2-135M, SmolLM2-360M', below: 400e6 },
  { id: 'medium', label: '~0.6B models', short: '~0.6B (0.4B–2B)', examples: 'Qwen3-0.6B, Qwen2.5-0.5B, Qwen3-1.7B', below: 2e9 },
  { id: 'large', label: '4B+ models', short: '4B+ (2B and more)', examples: 'Qwen3-4B, Qwen3-8B', below: Infinity },
];

/** The size class of a base with this many parameters (an unknown count: tiny, whose batch is the smallest). */
export function modelSizeClass(parameters: number): ModelSizeClass {
  return MODEL_SIZE_CLASSES.find((c) => knownCount(parameters) < c.below)!.id;
}

function knownCount(parameters: number): number {
  return Number.isFinite(parameters) && parameters >= 0 ? parameters : 0;
}

/** The size class of a parsed config.json. */
export function modelSizeClassOf(config: ModelConfig): ModelSizeClass {
  return modelSizeClass(parameterCount(config));
}

export interface ShadowPreset {
  id: string;
  name: string;
  /** One line for the UI. */
  description: string;
  /** The bases the recipe is sized for. */
  sizeClass: ModelSizeClass;
  shadow: ShadowConfig;
  training: RecipeTraining;
}

/** The authors' common recipe (docs/shadowpeft.md §10): N_s 1, I_s 256, R 16, G 10, α 0.1, p 0.2. */
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
 * Presets after the authors' runs (docs/shadowpeft.md §10; batch sizes and epochs as in their Qwen3 scripts:
 * 32 on 0.6B, 16 on 4B/8B). The large-model variants also narrow the shadow's attention as the authors
 * did (16 query heads on 4B, 8 on 8B; both bases have 8 kv heads).
 *
 * Below 0.6B the authors published nothing; those presets keep the recipe's method (λ, warm-up,
 * schedule, weight decay, the shadow's shape relative to the base) and size the rest for a browser:
 * - tiny (the bundled 3M Llama: C 256, I 688, 4 layers, 256 positions, ~1 GFLOP/s on a software GPU):
 *   the run a new user should see work first. Two sequences of 128 tokens per step, one epoch. The
 *   shadow is one layer of the base's width C (an implicit shadow always has it, resolve.ts) with
 *   I_s 128 = C/2 (the recipe's 256 is C/4 on 0.6B but would be 37% of this base's I), R 8 and
 *   dropout 0.1 (the package default; one epoch barely overfits); it trains 339,200 parameters
 *   (≈ 11% of the base). lr 1e-2, about 3× the recipe's highest: measured with `cli train` on the demo
 *   datasets (batch 2 × 128 tokens), the base loss fell 8.1 → 0.8 on the labels of kjv-testament within
 *   20 steps, 6.0 → 5.1 on fortunes-quotes and 3.44 → 3.0 on kjv-modern-english within 30–45; at 3e-3
 *   it fell about half as fast, and 3e-2 was no faster on the chat set.
 * - small (SmolLM2-135M: C 576, I 1536, 30 layers): the recipe's shadow as is (≈ 2% of the base, as
 *   §9's 1.5% on 0.6B), batch 16 as the authors use when memory is short, in passes of 4, and 2 epochs
 *   instead of reasoning's 4 (a 135M base trains for hours per epoch of GSM8K on a laptop GPU).
 */
export const SHADOW_PRESETS: readonly ShadowPreset[] = [
  {
    id: 'quick-start',
    name: 'Quick start (bundled model)',
    description: 'For the bundled KJV Llama and other tiny models: 1 epoch, 2 sequences of 128 tokens per step, lr 1e-2.',
    sizeClass: 'tiny',
    shadow: recipeShadow({ shadow_intermediate_size: 128, injection_hidden_size: 8, dropout: 0.1 }),
    training: { ...RECIPE_TRAINING, learningRate: 1e-2, batchSize: 2, microBatchSize: 2, maxLength: 128, epochs: 1 },
  },
  {
    id: 'reasoning-135m',
    name: 'Reasoning or chat, ~135M base',
    description: 'The reasoning recipe for SmolLM2-135M-sized bases: lr 3e-3, 2 epochs, batch 16 in passes of 4, 512 tokens.',
    sizeClass: 'small',
    shadow: recipeShadow(),
    training: { ...RECIPE_TRAINING, learningRate: 3e-3, batchSize: 16, microBatchSize: 4, epochs: 2 },
  },
  {
    id: 'reasoning',
    name: 'GSM8K-style reasoning',
    description: 'Step-by-step answers (math word problems): lr 3e-3, 4 epochs; GSM8K 48.9 on Qwen3-0.6B.',
    sizeClass: 'medium',
    shadow: recipeShadow(),
    training: { ...RECIPE_TRAINING, learningRate: 3e-3, batchSize: 32, epochs: 4 },
  },
  {
    id: 'extractive-qa',
    name: 'SQuAD-style extractive QA',
    description: 'Answer from a given passage, or say it has no answer: lr 1e-3, 2 epochs.',
    sizeClass: 'medium',
    shadow: recipeShadow(),
    training: { ...RECIPE_TRAINING, learningRate: 1e-3, batchSize: 32, epochs: 2 },
  },
  {
    id: 'classification',
    name: 'MMLU / classification',
    description: 'Pick one label or choice letter: gentle lr 2e-4, 2 epochs.',
    sizeClass: 'medium',
    shadow: recipeShadow(),
    training: { ...RECIPE_TRAINING, learningRate: 2e-4, batchSize: 32, epochs: 2 },
  },
  {
    id: 'reasoning-4b',
    name: 'GSM8K-style reasoning, 4B base',
    description: 'Reasoning recipe for Qwen3-4B: gate width 8, 16 shadow query heads, batch 16; GSM8K 79.',
    sizeClass: 'large',
    shadow: recipeShadow({ gate_hidden_size: 8, shadow_num_attention_heads: 16 }),
    training: { ...RECIPE_TRAINING, learningRate: 3e-3, batchSize: 16, epochs: 4 },
  },
  {
    id: 'reasoning-8b',
    name: 'GSM8K-style reasoning, 8B base',
    description: 'Reasoning recipe for Qwen3-8B: gate width 8, 8 shadow query heads, batch 16; GSM8K 80.7.',
    sizeClass: 'large',
    shadow: recipeShadow({ gate_hidden_size: 8, shadow_num_attention_heads: 8 }),
    training: { ...RECIPE_TRAINING, learningRate: 3e-3, batchSize: 16, epochs: 4 },
  },
];

export function shadowPreset(id: string): ShadowPreset | undefined {
  return SHADOW_PRESETS.find((p) => p.id === id);
}

/** The presets sized for one class, in list order. */
export function presetsOfClass(sizeClass: ModelSizeClass): ShadowPreset[] {
  return SHADOW_PRESETS.filter((p) => p.sizeClass === sizeClass);
}

/** The preset preselected for a base: by size, and within 4B+ the recipe of the nearer base (4B or 8B). */
const RECOMMENDED: readonly { below: number; id: string }[] = [
  { below: 50e6, id: 'quick-start' },
  { below: 400e6, id: 'reasoning-135m' },
  { below: 2e9, id: 'reasoning' },
  { below: 6e9, id: 'reasoning-4b' },
  { below: Infinity, id: 'reasoning-8b' },
];

export function recommendedPreset(parameters: number): ShadowPreset {
  return shadowPreset(RECOMMENDED.find((r) => knownCount(parameters) < r.below)!.id)!;
}

/** What a preset is fitted to: the base, and the device where known. */
export interface PresetTarget {
  /** total parameters of the base (parameterCount) */
  parameters: number;
  /** the base's shapes (for activation sizes); null: unsupported or unknown, no device check */
  base: BaseArchitecture | null;
  /** the base's max_position_embeddings; null: unknown (no cap) */
  maxPositionEmbeddings: number | null;
  /** the device's per-tensor limits; null: unknown (no cap) */
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number } | null;
}

/** A preset's batch and length made to fit one base and device. */
export interface FittedBatch {
  microBatchSize: number;
  gradientAccumulation: number;
  maxLength: number;
  /** why a number differs from the preset's (for the UI), empty when none does */
  notes: string[];
}

/**
 * Bytes of the largest tensor one base layer's training workspace allocates for B sequences of T
 * tokens (N = B·T): the widest of its f32 (N, ·) rows, gate/up/act (N, I), q/attn (N, NH·HS), k/v
 * (N, NKV·HS), x/a (N, C). Closed form on purpose (src/model/layerWorkspace.ts pulls GPU code into the
 * page); presets.test.ts checks it against layerWorkspaceSizes. It must fit one storage binding and
 * one buffer; the embedding, the head and the loss head split by rows and are not counted.
 */
export function largestLayerActivationBytes(base: BaseArchitecture, B: number, T: number): number {
  const width = Math.max(base.hiddenSize, base.numHeads * base.headDim, base.numKvHeads * base.headDim, base.intermediateSize);
  return 4 * B * T * width;
}

/**
 * The preset's batch for this base and device: the max length capped at the base's positions, then the
 * micro-batch halved (and accumulation raised, keeping the batch) until a layer's largest activation
 * fits one binding, and only at micro-batch 1 the length halved. `maxMicroBatch` is the caller's cap
 * for presets that leave the split to it.
 */
export function fitPresetBatch(preset: ShadowPreset, target: PresetTarget, maxMicroBatch = 8): FittedBatch {
  const t = preset.training;
  const notes: string[] = [];
  let maxLength = t.maxLength;
  const positions = target.maxPositionEmbeddings;
  if (positions !== null && positions >= 2 && maxLength > positions) {
    maxLength = positions;
    notes.push(`max length ${maxLength} (not ${t.maxLength}): the model has ${positions} positions`);
  }
  let micro = Math.max(1, Math.min(t.microBatchSize ?? maxMicroBatch, t.batchSize));
  const limit = target.limits ? Math.min(target.limits.maxStorageBufferBindingSize, target.limits.maxBufferSize) : Infinity;
  const base = target.base;
  const fits = () => base === null || largestLayerActivationBytes(base, micro, maxLength) <= limit;
  const wantedMicro = micro;
  while (!fits() && micro > 1) micro = Math.ceil(micro / 2);
  if (micro !== wantedMicro) notes.push(`micro-batch ${micro} (not ${wantedMicro}): a layer’s activations of ${wantedMicro} × ${maxLength} tokens exceed this device’s ${mib(limit)} per buffer`);
  const wantedLength = maxLength;
  while (!fits() && maxLength > 16) maxLength = Math.floor(maxLength / 2);
  if (maxLength !== wantedLength) notes.push(`max length ${maxLength} (not ${wantedLength}): one sequence of ${wantedLength} tokens exceeds this device’s ${mib(limit)} per buffer`);
  return { microBatchSize: micro, gradientAccumulation: Math.max(1, Math.ceil(t.batchSize / micro)), maxLength, notes };
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}
