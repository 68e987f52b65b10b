import { StudioError } from '../engine/errors';
import type { ShadowConfig } from '../shadow/config';
import type { ExplicitShadow } from '../shadow/explicitShadow';
import { show, shadowConfigIssues } from '../shadow/config';
import type { ShadowPreset } from '../shadow/presets';
import { shadowPreset } from '../shadow/presets';
import { TrainErrorCode } from './errors';
import type { ScheduleKind } from './schedule';

/** Everything that decides a training run. Plain JSON: it is stored whole in every checkpoint. */
export interface RunConfig {
  /** the frozen base: Hub repo id (or a local name) and revision (null: unknown / a local folder) */
  baseModel: { id: string; revision: string | null };
  shadow: ShadowConfig;
  /**
   * A pretrained model serving as the shadow (docs/shadowpeft.md §6), or null for the implicit shadow.
   * Its config.json is kept here, so a checkpoint rebuilds the same shape without the model.
   */
  explicitShadow: ExplicitShadow | null;
  /** λ: loss = CE(base) + λ·CE(shadow) */
  shadowLossWeight: number;
  /** peak learning rate of the schedule */
  learningRate: number;
  /** AdamW decoupled weight decay (never on 1-D tensors) */
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** share of all optimizer steps spent warming up; warm-up steps = ceil(ratio · total) */
  warmupRatio: number;
  schedule: ScheduleKind;
  /** clip the global gradient norm to this; null: no clipping */
  maxGradNorm: number | null;
  /** sequences per forward/backward pass */
  microBatchSize: number;
  /** micro-batches per optimizer step (effective batch = microBatchSize · this) */
  gradientAccumulationSteps: number;
  epochs: number;
  /** stop after this many optimizer steps (and size the schedule by it); null: run all epochs */
  maxSteps: number | null;
  /** tokens per sequence, longer ones are cut */
  maxLength: number;
  /** share of the examples held out for validation, in [0, 1) */
  validationFraction: number;
  /** evaluate on the validation set every N optimizer steps; null: never */
  evalEvery: number | null;
  /**
   * batches (of microBatchSize) one evaluation scores: the first ones of the validation set, the
   * same every time; null: the whole set. Absent in checkpoints from before it existed (= null).
   */
  evalBatches?: number | null;
  /** stop after this many evaluations without a lower validation loss; null: never */
  earlyStoppingPatience: number | null;
  /** save a checkpoint every N optimizer steps; null: only when asked */
  checkpointEvery: number | null;
  /** checkpoints kept per run (the newest ones) */
  keepCheckpoints: number;
  /** the one seed of the run: adapter init, split, epoch orders and dropout masks all derive from it */
  seed: number;
  /** apply the adapter's dropout while training (it is always off in evaluation) */
  dropout: boolean;
}

/**
 * The authors' recipe (docs/shadowpeft.md §10) as a run: AdamW (0.9, 0.999, 1e-8), weight decay 0.01,
 * linear decay with warm-up ratio 0.01, λ 0.05, the recipe's shadow (N_s 1, I_s 256, R 16, G 10,
 * α 0.1, p 0.2), the preset's lr, epochs, batch and max length. The batch is split into the preset's
 * micro-batches, else into micro-batches of 4 (browser GPUs hold few long sequences at once),
 * accumulated to the preset's size.
 */
/** A few batches: an evaluation that takes about as long as a few steps, not as long as an epoch. */
export const DEFAULT_EVAL_BATCHES = 8;

export function runConfigFromPreset(preset: ShadowPreset, baseModel: RunConfig['baseModel']): RunConfig {
  const t = preset.training;
  const micro = Math.min(t.microBatchSize ?? 4, t.batchSize);
  return {
    baseModel: { ...baseModel },
    shadow: { ...preset.shadow, modules_to_save: [...preset.shadow.modules_to_save] },
    explicitShadow: null,
    shadowLossWeight: t.shadowLossWeight,
    learningRate: t.learningRate,
    weightDecay: t.weightDecay,
    betas: [0.9, 0.999],
    eps: 1e-8,
    warmupRatio: t.warmupRatio,
    schedule: t.schedule,
    maxGradNorm: 1.0,
    microBatchSize: micro,
    gradientAccumulationSteps: Math.max(1, Math.round(t.batchSize / micro)),
    epochs: t.epochs,
    maxSteps: null,
    maxLength: t.maxLength,
    validationFraction: 0.05,
    evalEvery: 100,
    evalBatches: DEFAULT_EVAL_BATCHES,
    earlyStoppingPatience: null,
    checkpointEvery: 200,
    keepCheckpoints: 3,
    seed: 42,
    dropout: true,
  };
}

/** The default run: the authors' SQuAD-style recipe (lr 1e-3, 2 epochs, batch 32 = 4 × 8). */
export const DEFAULT_PRESET_ID = 'extractive-qa';

/** Defaults plus overrides, validated. */
export function runConfig(baseModel: RunConfig['baseModel'], overrides: Partial<RunConfig> = {}): RunConfig {
  const config = { ...runConfigFromPreset(shadowPreset(DEFAULT_PRESET_ID)!, baseModel), ...overrides };
  validateRunConfig(config);
  return config;
}

/** Throws the first problem of `runConfigIssues`. */
export function validateRunConfig(config: RunConfig): void {
  const first = runConfigIssues(config)[0];
  if (first) throw first;
}

/** Every problem of a run configuration as coded errors (a form can show them all at once). */
export function runConfigIssues(c: RunConfig): StudioError[] {
  const issues: StudioError[] = [];
  const bad = (field: string, value: unknown, rule: string, hint: string) => issues.push(new StudioError(TrainErrorCode.badRunConfig, `${field} is ${show(value)}; it must be ${rule}`, hint));
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
  const intOrNull = (field: keyof RunConfig, min: number, hint: string) => {
    const v = c[field];
    if (v !== null && !isInt(v, min)) bad(field, v, `null or an integer ≥ ${min}`, hint);
  };

  if (!c.baseModel || typeof c.baseModel.id !== 'string' || c.baseModel.id === '') bad('baseModel.id', c.baseModel?.id, 'a non-empty model id', 'load a base model first');
  else if (c.baseModel.revision !== null && typeof c.baseModel.revision !== 'string') bad('baseModel.revision', c.baseModel.revision, 'a string or null', 'use the commit or branch the model was loaded from');
  if (!(isNum(c.shadowLossWeight) && c.shadowLossWeight >= 0)) bad('shadowLossWeight', c.shadowLossWeight, 'a number ≥ 0', 'the authors use 0.05');
  if (!(isNum(c.learningRate) && c.learningRate > 0)) bad('learningRate', c.learningRate, 'a number > 0', 'the authors use 2e-4 to 3e-3');
  if (!(isNum(c.weightDecay) && c.weightDecay >= 0)) bad('weightDecay', c.weightDecay, 'a number ≥ 0', 'the authors use 0.01');
  if (!(Array.isArray(c.betas) && c.betas.length === 2 && c.betas.every((b) => isNum(b) && b >= 0 && b < 1))) bad('betas', c.betas, 'two numbers in [0, 1)', 'the usual values are [0.9, 0.999]');
  if (!(isNum(c.eps) && c.eps > 0)) bad('eps', c.eps, 'a number > 0', 'the usual value is 1e-8');
  if (!(isNum(c.warmupRatio) && c.warmupRatio >= 0 && c.warmupRatio <= 1)) bad('warmupRatio', c.warmupRatio, 'a number in [0, 1]', 'the authors use 0.01');
  if (c.schedule !== 'linear' && c.schedule !== 'cosine') bad('schedule', c.schedule, "'linear' or 'cosine'", 'the authors use linear');
  if (c.maxGradNorm !== null && !(isNum(c.maxGradNorm) && c.maxGradNorm > 0)) bad('maxGradNorm', c.maxGradNorm, 'null or a number > 0', 'the usual value is 1.0');
  if (!isInt(c.microBatchSize, 1)) bad('microBatchSize', c.microBatchSize, 'an integer ≥ 1', 'lower it when the GPU runs out of memory, raise gradient accumulation instead');
  if (!isInt(c.gradientAccumulationSteps, 1)) bad('gradientAccumulationSteps', c.gradientAccumulationSteps, 'an integer ≥ 1', 'use 1 for no accumulation');
  if (!isInt(c.epochs, 1)) bad('epochs', c.epochs, 'an integer ≥ 1', 'the authors train 2–4 epochs');
  intOrNull('maxSteps', 1, 'clear it to train for the given epochs');
  if (!isInt(c.maxLength, 2)) bad('maxLength', c.maxLength, 'an integer ≥ 2', 'the authors use 512');
  if (!(isNum(c.validationFraction) && c.validationFraction >= 0 && c.validationFraction < 1)) bad('validationFraction', c.validationFraction, 'a number in [0, 1)', 'e.g. 0.05; 0 turns validation off');
  intOrNull('evalEvery', 1, 'e.g. 100; clear it to never evaluate');
  if (c.evalBatches !== undefined && c.evalBatches !== null && !isInt(c.evalBatches, 1)) bad('evalBatches', c.evalBatches, 'null or an integer ≥ 1', `e.g. ${DEFAULT_EVAL_BATCHES}; clear it to score the whole validation set`);
  intOrNull('earlyStoppingPatience', 1, 'e.g. 3 evaluations; clear it to train to the end');
  if (c.earlyStoppingPatience !== null && (c.evalEvery === null || c.validationFraction === 0)) {
    bad('earlyStoppingPatience', c.earlyStoppingPatience, 'null when there is no evaluation (evalEvery null or validationFraction 0)', 'set evalEvery and a validation fraction, or clear the patience');
  }
  intOrNull('checkpointEvery', 1, 'e.g. 200; clear it to save only on request');
  if (!isInt(c.keepCheckpoints, 1)) bad('keepCheckpoints', c.keepCheckpoints, 'an integer ≥ 1', 'the default keeps 3');
  if (!(isInt(c.seed, 0) && c.seed <= 0xffffffff)) bad('seed', c.seed, 'an integer in [0, 2³² − 1]', 'any whole number, e.g. 42');
  if (typeof c.dropout !== 'boolean') bad('dropout', c.dropout, 'true or false', 'true trains with the adapter’s dropout');
  const e = c.explicitShadow as ExplicitShadow | null | undefined; // undefined: a checkpoint from before explicit shadows
  if (e !== null && e !== undefined && !(e && typeof e.id === 'string' && typeof e.ownEmbeddings === 'boolean' && e.hfConfig && typeof e.hfConfig === 'object' && !Array.isArray(e.hfConfig))) {
    bad('explicitShadow', e, 'null or { id, hfConfig, ownEmbeddings }', 'choose the explicit shadow model again, or clear it to use the implicit shadow');
  }
  if (!c.shadow || typeof c.shadow !== 'object') bad('shadow', c.shadow, 'a shadow configuration', 'choose a preset');
  else issues.push(...shadowConfigIssues(c.shadow));
  return issues;
}
