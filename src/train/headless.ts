import type { Gpu } from '../engine/runtime';
import { loadCausalLM } from '../model/load';
import type { ModelSource } from '../model/sources/source';
import { loadTokenizer, tokenizerFingerprint } from '../model/tokenizer';
import type { AdapterFiles } from '../shadow/adapterIO';
import { saveAdapter } from '../shadow/adapterIO';
import type { CheckpointStore } from './checkpoints';
import { TrainController } from './controller';
import type { DataTokenizer, TokenizeOptions } from './data/tokenize';
import type { RecordFormat, TokenizedExample } from './data/types';
import type { TrainEvent } from './events';
import type { RunConfig } from './runConfig';
import { runConfig } from './runConfig';
import type { PreparedDataset } from './runSetup';
import { assertTrainable, createRun, prepareDataset, resolvePadId } from './runSetup';
import type { TrainResult } from './trainer';

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
  /** the prepared dataset, before the run is set up (its skipped records, e.g. for a summary) */
  onDataset?: (data: PreparedDataset) => void;
  controller?: TrainController;
  checkpoints?: { store: CheckpointStore; runId: string };
  adapterDtype?: 'F32' | 'BF16';
}

export interface HeadlessTrainResult {
  files: AdapterFiles;
  result: TrainResult;
  config: RunConfig;
  counts: { train: number; validation: number; truncated: number; dropped: number; malformedRecords: number };
  /** the examples as trained and validated (token ids and labels) */
  examples: { train: TokenizedExample[]; validation: TokenizedExample[] };
  datasetFingerprint: string;
}

/**
 * A whole run without a UI: model + tokenizer from the source, the data pipeline (parse, tokenize with
 * label masking, seeded split), a fresh adapter, the training loop, and the two official adapter
 * files. The worker runs the same set-up (runSetup.ts); the caller provides the GPU and does any file I/O,
 * and every GPU buffer made here is freed before it returns.
 */
export async function trainHeadless(opts: HeadlessTrainOptions): Promise<HeadlessTrainResult> {
  const { gpu, source } = opts;
  const config = runConfig({ id: source.id, revision: source.revision }, opts.overrides);
  // The data first: a bad file fails before any weight is read or any GPU memory is taken.
  const tokenizer: DataTokenizer = await loadTokenizer(source);
  const data = prepareDataset(opts.data.text, { fileName: opts.data.fileName, onError: 'skip', format: opts.data.format, template: opts.data.template, maxLength: config.maxLength, validationFraction: config.validationFraction, seed: config.seed, tokenizerFingerprint: tokenizerFingerprint(tokenizer) }, tokenizer);
  assertTrainable(data);
  const base = await loadCausalLM(gpu, source);
  try {
    opts.onDataset?.(data);
    const padId = resolvePadId(tokenizer, base.config.vocabSize);
    // Without a caller's controller nobody could resume an automatic pause: end the run instead.
    const controller = opts.controller ?? new TrainController();
    const onEvent = (e: TrainEvent) => {
      opts.onEvent?.(e);
      if (!opts.controller && e.type === 'paused') controller.stop();
    };
    const run = await createRun({ base, config, data: { train: data.train, validation: data.validation, padId, fingerprint: data.fingerprint }, explicitSource: opts.shadowSource, onEvent, controller, checkpoints: opts.checkpoints });
    try {
      const result = await run.trainer.run();
      const files = await saveAdapter(run.model, {
        baseModelId: source.id,
        dtype: opts.adapterDtype ?? 'F32',
        extraMetadata: { base_model_revision: source.revision ?? '', optimizer_steps: String(result.progress.step), dataset_fingerprint: data.fingerprint },
      });
      return {
        files,
        result,
        config,
        counts: { train: data.train.length, validation: data.validation.length, truncated: data.truncated, dropped: data.dropped, malformedRecords: data.malformedRecords },
        datasetFingerprint: data.fingerprint,
        examples: { train: data.train, validation: data.validation },
      };
    } finally {
      run.release();
      run.model.destroy();
    }
  } finally {
    base.destroy();
  }
}
