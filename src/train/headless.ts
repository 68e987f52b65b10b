import type { Gpu } from '../engine/runtime';
import { loadCausalLM } from '../model/load';
import type { ModelSource } from '../model/sources/source';
import { loadTokenizer } from '../model/tokenizer';
import type { AdapterFiles } from '../shadow/adapterIO';
import { saveAdapter } from '../shadow/adapterIO';
import { StudioError } from '../engine/errors';
import { loadPretrainedShadow } from '../shadow/explicitShadow';
import { ShadowOptimizer } from '../shadow/optimizer';
import { TrainErrorCode } from './errors';
import { ShadowPeftModel } from '../shadow/shadowModel';
import type { CheckpointStore } from './checkpoints';
import { TrainController } from './controller';
import { datasetFingerprint } from './data/fingerprint';
import { parseDataset } from './data/parse';
import { splitTrainValidation } from './data/split';
import type { DataTokenizer, TokenizeOptions } from './data/tokenize';
import { tokenizeExamples } from './data/tokenize';
import type { RecordFormat } from './data/types';
import type { TrainEvent } from './events';
import type { RunConfig } from './runConfig';
import { runConfig } from './runConfig';
import type { TrainResult } from './trainer';
import { Trainer } from './trainer';

export interface HeadlessTrainOptions {
  gpu: Gpu;
  /** the base model (its folder also holds the tokenizer) */
  source: ModelSource;
  /** a dataset file's text and name (the name picks JSONL / CSV / TSV / TXT) */
  data: { text: string; fileName: string; format?: RecordFormat; template?: TokenizeOptions['template'] };
  /** run settings over the defaults (baseModel is taken from the source) */
  overrides?: Partial<Omit<RunConfig, 'baseModel'>>;
  /** where the pretrained weights of overrides.explicitShadow come from (needed for a fresh run with one) */
  shadowSource?: ModelSource;
  onEvent?: (e: TrainEvent) => void;
  controller?: TrainController;
  checkpoints?: { store: CheckpointStore; runId: string };
  adapterDtype?: 'F32' | 'BF16';
}

export interface HeadlessTrainResult {
  files: AdapterFiles;
  result: TrainResult;
  config: RunConfig;
  counts: { train: number; validation: number; truncated: number; dropped: number; malformedRecords: number };
  datasetFingerprint: string;
}

/**
 * A whole run without a UI: model + tokenizer from the source, the data pipeline (parse, tokenize with
 * label masking, seeded split), a fresh adapter, the training loop, and the two official adapter
 * files. The same code the worker runs; the caller provides the GPU and does any file I/O.
 */
export async function trainHeadless(opts: HeadlessTrainOptions): Promise<HeadlessTrainResult> {
  const { gpu, source } = opts;
  const config = runConfig({ id: source.id, revision: source.revision }, opts.overrides);
  const base = await loadCausalLM(gpu, source);
  const tokenizer: DataTokenizer = await loadTokenizer(source);
  const parsed = parseDataset(opts.data.text, { onError: 'skip', fileName: opts.data.fileName, format: opts.data.format });
  const template = opts.data.template ?? 'auto';
  const tokenized = tokenizeExamples(parsed.examples, tokenizer, { maxLength: config.maxLength, template });
  const split = splitTrainValidation(tokenized.examples, { validationFraction: config.validationFraction, seed: config.seed });
  // Everything that changes which examples train and validate: a checkpoint of this run resumes only on the same.
  const fingerprint = datasetFingerprint(opts.data.text, { fileName: opts.data.fileName, format: parsed.format, template, maxLength: config.maxLength, validationFraction: config.validationFraction, seed: config.seed, tokenizer: source.id });
  const V = base.config.vocabSize;
  const pad = tokenizer.pad_token_id ?? tokenizer.eos_token_id ?? 0;
  const padId = Number.isInteger(pad) && pad >= 0 && pad < V ? pad : 0; // padding is never attended to; it only needs a valid row

  const model = await ShadowPeftModel.create(base, config.shadow, config.seed, config.explicitShadow);
  if (config.explicitShadow) {
    if (!opts.shadowSource) throw new StudioError(TrainErrorCode.badRunConfig, `the run uses the explicit shadow '${config.explicitShadow.id}' but no source for its weights was given`, 'pass shadowSource (cli: --shadow-model)');
    await loadPretrainedShadow(model, opts.shadowSource);
  }
  const optimizer = await ShadowOptimizer.create(model);
  // Without a caller's controller nobody could resume an automatic pause: end the run instead.
  const controller = opts.controller ?? new TrainController();
  const onEvent = (e: TrainEvent) => {
    opts.onEvent?.(e);
    if (!opts.controller && e.type === 'paused') controller.stop();
  };
  const trainer = await Trainer.create({
    model,
    optimizer,
    config,
    data: { train: split.train, validation: split.validation, padId, fingerprint },
    onEvent,
    controller,
    checkpoints: opts.checkpoints,
  });
  const result = await trainer.run();
  const files = await saveAdapter(model, {
    baseModelId: source.id,
    dtype: opts.adapterDtype ?? 'F32',
    extraMetadata: { base_model_revision: source.revision ?? '', optimizer_steps: String(result.progress.step), dataset_fingerprint: fingerprint },
  });
  return {
    files,
    result,
    config,
    counts: { train: split.train.length, validation: split.validation.length, truncated: tokenized.truncatedCount, dropped: tokenized.droppedCount, malformedRecords: parsed.issueCount },
    datasetFingerprint: fingerprint,
  };
}
