/**
 * The one run set-up shared by the worker, `cli train` (through trainHeadless) and the estimate: the
 * dataset pipeline with its fingerprint, the padding id, the batch plan that sizes every workspace,
 * and the construction of a run's adapter, optimizer and trainer. Callers keep only the lifecycle.
 */
import { StudioError } from '../engine/errors';
import type { CausalLM } from '../model/causalLM';
import type { ModelSource } from '../model/sources/source';
import { loadPretrainedShadow } from '../shadow/explicitShadow';
import { ShadowOptimizer } from '../shadow/optimizer';
import { ShadowPeftModel } from '../shadow/shadowModel';
import type { CheckpointStore } from './checkpoints';
import type { Checkpoint } from './checkpointState';
import { restoreCheckpoint } from './checkpointState';
import type { TrainController } from './controller';
import { datasetFingerprint } from './data/fingerprint';
import type { ColumnMapping } from './data/parse';
import { parseDataset } from './data/parse';
import type { DataIssue } from './data/issues';
import { skippedRecordsSummary } from './data/issueGroups';
import { splitTrainValidation } from './data/split';
import type { DataTokenizer, TokenizeOptions } from './data/tokenize';
import { tokenizeExamples } from './data/tokenize';
import type { DatasetFormat, RecordFormat, TokenizedExample } from './data/types';
import { TrainErrorCode } from './errors';
import type { TrainEvent } from './events';
import type { RunConfig } from './runConfig';
import type { RunPlan } from './stepPlan';
import { planRun } from './stepPlan';
import type { TrainData } from './trainer';
import { Trainer } from './trainer';

/** How a dataset file becomes training and validation examples; every field changes the examples. */
export interface DatasetOptions {
  /** picks JSONL / CSV / TSV / TXT by extension */
  fileName: string;
  /** a malformed record is skipped and reported, or stops the pipeline */
  onError: 'skip' | 'stop';
  /** forces the record format (default: the first valid record's) */
  format?: RecordFormat;
  /** CSV/TSV column mapping */
  columns?: ColumnMapping;
  template?: NonNullable<TokenizeOptions['template']>;
  maxLength: number;
  validationFraction: number;
  seed: number;
  /** the tokenizer's files (tokenizerFingerprint): another tokenizer makes other token ids */
  tokenizerFingerprint: string;
}

export interface PreparedDataset {
  format: DatasetFormat;
  /** records parsed (before tokenization) */
  records: number;
  /** every tokenized example, in file order (previews and statistics) */
  examples: TokenizedExample[];
  train: TokenizedExample[];
  validation: TokenizedExample[];
  /** parse issues, then tokenization drops (each list capped by its producer) */
  issues: DataIssue[];
  malformedRecords: number;
  truncated: number;
  dropped: number;
  /** identifies the file and every option above; a checkpoint resumes only on the same */
  fingerprint: string;
}

/** Parse → tokenize (chat template, label masking) → seeded split, with the fingerprint of it all. */
export function prepareDataset(text: string, options: DatasetOptions, tokenizer: DataTokenizer): PreparedDataset {
  const parsed = parseDataset(text, { onError: options.onError, fileName: options.fileName, format: options.format, columns: options.columns });
  const template = options.template ?? 'auto';
  const tokenized = tokenizeExamples(parsed.examples, tokenizer, { maxLength: options.maxLength, template });
  const split = splitTrainValidation(tokenized.examples, { validationFraction: options.validationFraction, seed: options.seed });
  const fingerprint = datasetFingerprint(text, {
    fileName: options.fileName,
    format: parsed.format,
    columns: options.columns ?? null,
    template,
    maxLength: options.maxLength,
    validationFraction: options.validationFraction,
    seed: options.seed,
    tokenizer: options.tokenizerFingerprint,
  });
  return {
    format: parsed.format,
    records: parsed.examples.length,
    examples: tokenized.examples,
    train: split.train,
    validation: split.validation,
    issues: [...parsed.issues, ...tokenized.dropped],
    malformedRecords: parsed.issueCount,
    truncated: tokenized.truncatedCount,
    dropped: tokenized.droppedCount,
    fingerprint,
  };
}

/**
 * E302 when the dataset leaves nothing to train on, with why its records went (parse errors and
 * tokenization drops, grouped and bounded) and what to change. Called before any GPU work.
 */
export function assertTrainable(data: Pick<PreparedDataset, 'train' | 'validation' | 'issues' | 'malformedRecords' | 'dropped'>): void {
  if (data.train.length > 0) return;
  const why = data.issues.length > 0 ? `; ${skippedRecordsSummary(data.issues, data.malformedRecords + data.dropped)}` : '';
  const hint = data.validation.length > 0 ? 'lower the validation fraction, or add data' : data.dropped > 0 ? 'raise the max length (prompts longer than it leave nothing to learn), or fix the records named' : 'add data, or fix the records named';
  throw new StudioError(TrainErrorCode.noTrainingData, `no training example is left after tokenization and the validation split (${data.validation.length} validation)${why}`, hint);
}

/**
 * The token id written into padding: pad, else eos, else 0. Padding is never attended to and never a
 * target, so any id works as long as the embedding has that row; an out-of-range id falls back to 0.
 */
export function resolvePadId(tokenizer: { pad_token_id?: number | null; eos_token_id?: number | null }, vocabSize: number): number {
  const pad = tokenizer.pad_token_id ?? tokenizer.eos_token_id ?? 0;
  return Number.isInteger(pad) && pad >= 0 && pad < vocabSize ? pad : 0;
}

export interface CreateRunOptions {
  base: CausalLM;
  config: RunConfig;
  data: TrainData;
  /**
   * Resume: restores parameters, moments and progress. The checkpoint must be of `baseModelId` (the
   * model loaded now, not the one its config names) and of data with `data.fingerprint`.
   */
  resumeFrom?: { checkpoint: Checkpoint; baseModelId: string };
  /** a fresh run with an explicit shadow reads its pretrained weights from here */
  explicitSource?: ModelSource;
  onShadowLoadProgress?: Parameters<typeof loadPretrainedShadow>[2];
  onEvent?: (e: TrainEvent) => void;
  controller?: TrainController;
  checkpoints?: { store: CheckpointStore; runId: string };
}

/**
 * A run's GPU parts. The run owns the optimizer and the trainer's workspace (release() frees them);
 * the adapter (`model`) outlives it — the studio keeps it for generation and export — and is freed
 * by whoever holds it last (model.destroy()).
 */
export interface RunParts {
  model: ShadowPeftModel;
  optimizer: ShadowOptimizer;
  trainer: Trainer;
  plan: RunPlan;
  release(): void;
}

export async function createRun(opts: CreateRunOptions): Promise<RunParts> {
  const { base, config, data } = opts;
  const model = await ShadowPeftModel.create(base, config.shadow, config.seed, config.explicitShadow ?? null);
  let optimizer: ShadowOptimizer | null = null;
  try {
    optimizer = await ShadowOptimizer.create(model);
    if (opts.resumeFrom) {
      restoreCheckpoint(opts.resumeFrom.checkpoint, model, optimizer, { baseModelId: opts.resumeFrom.baseModelId, datasetFingerprint: data.fingerprint });
    } else if (config.explicitShadow) {
      if (!opts.explicitSource) throw new StudioError(TrainErrorCode.badRunConfig, `the run uses the explicit shadow '${config.explicitShadow.id}' but no source for its weights was given`, 'pass shadowSource (cli: --shadow-model)');
      await loadPretrainedShadow(model, opts.explicitSource, opts.onShadowLoadProgress);
    }
    const trainer = await Trainer.create({ model, optimizer, config, data, onEvent: opts.onEvent, controller: opts.controller, checkpoints: opts.checkpoints, resume: opts.resumeFrom?.checkpoint.manifest.progress });
    const held = optimizer;
    return {
      model,
      optimizer,
      trainer,
      plan: planRun(config, data),
      release: () => {
        trainer.release();
        held.destroy();
      },
    };
  } catch (e) {
    optimizer?.destroy();
    model.destroy();
    throw e;
  }
}
