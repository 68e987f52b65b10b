/**
 * `cli train`: the studio's training loop in Node (Dawn), writing the two official adapter files.
 *   npm run --silent cli -- train --model <dir|url|repo> --data <file> --out <adapter-dir>
 *        [--preset ID] [--epochs N] [--max-steps N] [--lr X] [--batch B] [--grad-accum K] [--max-length T]
 *        [--warmup-ratio R] [--schedule linear|cosine] [--weight-decay W] [--max-grad-norm G|none] [--lambda L]
 *        [--seed S] [--val-fraction F] [--eval-every N] [--patience P] [--no-dropout]
 *        [--shadow-config shadow_config.json] [--shadow-model <model> [--shadow-embeddings own|frozen|base]]
 *        [--format chat|prompt_completion|alpaca|text|classification]
 *        [--template auto|chat|plain] [--dtype f32|bf16] [--json]
 */
import { totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { StudioError } from '../engine/errors';
import { acquireDevice } from '../engine/device';
import { Gpu } from '../engine/runtime';
import type { ModelSource } from '../model/sources/source';
import { parseShadowConfigJson } from '../shadow/configJson';
import type { ExplicitShadow } from '../shadow/explicitShadow';
import { embeddingChoice, readExplicitShadow } from '../shadow/explicitShadow';
import { shadowPreset, SHADOW_PRESETS } from '../shadow/presets';
import { FORMAT_NAMES } from '../train/data/formats';
import { DATA_FORMATS_DOC, formatInt, formatIssueGroups, groupIssues } from '../train/data/issueGroups';
import type { RecordFormat } from '../train/data/types';
import { TrainErrorCode } from '../train/errors';
import type { TrainEvent } from '../train/events';
import { trainHeadless } from '../train/headless';
import type { PreparedDataset } from '../train/runSetup';
import type { RunConfig } from '../train/runConfig';
import { runConfigFromPreset } from '../train/runConfig';
import type { FlagKinds, Flags } from './args';
import type { OnOpen } from './files';
import { checkOutDir, FILE_LIMITS, readUserText, writeUserFile } from './files';
import { sourceFromArg } from './nodeSources';

export const TRAIN_USAGE =
  'cli train --model <model> --data <file> --out <dir> [--preset ID] [--epochs N] [--max-steps N] [--lr X] [--batch B] [--grad-accum K] [--max-length T] [--warmup-ratio R] [--schedule linear|cosine] [--weight-decay W] [--max-grad-norm G|none] [--lambda L] [--seed S] [--val-fraction F] [--eval-every N] [--patience P] [--no-dropout] [--shadow-config FILE] [--shadow-model <model> [--shadow-embeddings own|frozen|base]] [--format F] [--template auto|chat|plain] [--dtype f32|bf16] [--json]';

/** Every flag of cli train (anything else is refused, listing these). */
export const TRAIN_FLAGS: FlagKinds = {
  model: 'string',
  data: 'string',
  out: 'string',
  preset: 'string',
  epochs: 'string',
  'max-steps': 'string',
  lr: 'string',
  batch: 'string',
  'grad-accum': 'string',
  'max-length': 'string',
  'warmup-ratio': 'string',
  schedule: 'string',
  'weight-decay': 'string',
  'max-grad-norm': 'string',
  lambda: 'string',
  seed: 'string',
  'val-fraction': 'string',
  'eval-every': 'string',
  patience: 'string',
  'no-dropout': 'boolean',
  'shadow-config': 'string',
  'shadow-model': 'string',
  'shadow-embeddings': 'string',
  format: 'string',
  template: 'string',
  dtype: 'string',
  json: 'boolean',
};

function flagError(flag: string, value: unknown, rule: string): StudioError {
  return new StudioError(TrainErrorCode.badRunConfig, `--${flag} ${JSON.stringify(value)}: ${rule}`, TRAIN_USAGE);
}

function text(flags: Flags, flag: string): string | undefined {
  const v = flags[flag];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw flagError(flag, v, 'needs a value');
  return v;
}

function num(flags: Flags, flag: string): number | undefined {
  const v = text(flags, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw flagError(flag, v, 'is not a number');
  return n;
}

/** Flags → run settings: the preset (default: the config defaults), then each given flag. */
export function trainOverrides(flags: Flags, onOpen?: OnOpen): Partial<Omit<RunConfig, 'baseModel'>> {
  const out: Partial<Omit<RunConfig, 'baseModel'>> = {};
  const presetId = text(flags, 'preset');
  if (presetId !== undefined) {
    const preset = shadowPreset(presetId);
    if (!preset) throw flagError('preset', presetId, `is not a preset; choose one of ${SHADOW_PRESETS.map((p) => p.id).join(', ')}`);
    const { baseModel: _unused, ...fromPreset } = runConfigFromPreset(preset, { id: '-', revision: null });
    Object.assign(out, fromPreset);
  }
  const set = <K extends keyof RunConfig>(key: K, value: RunConfig[K] | undefined) => {
    if (value !== undefined) (out as Partial<RunConfig>)[key] = value;
  };
  set('epochs', num(flags, 'epochs'));
  set('maxSteps', num(flags, 'max-steps'));
  set('learningRate', num(flags, 'lr'));
  set('microBatchSize', num(flags, 'batch'));
  set('gradientAccumulationSteps', num(flags, 'grad-accum'));
  set('maxLength', num(flags, 'max-length'));
  set('warmupRatio', num(flags, 'warmup-ratio'));
  set('weightDecay', num(flags, 'weight-decay'));
  set('shadowLossWeight', num(flags, 'lambda'));
  set('seed', num(flags, 'seed'));
  set('validationFraction', num(flags, 'val-fraction'));
  set('evalEvery', num(flags, 'eval-every'));
  set('earlyStoppingPatience', num(flags, 'patience'));
  const schedule = text(flags, 'schedule');
  if (schedule !== undefined && schedule !== 'linear' && schedule !== 'cosine') throw flagError('schedule', schedule, "must be 'linear' or 'cosine'");
  set('schedule', schedule);
  set('maxGradNorm', text(flags, 'max-grad-norm') === 'none' ? null : num(flags, 'max-grad-norm'));
  if (flags['no-dropout']) out.dropout = false;
  const shadowFile = text(flags, 'shadow-config');
  if (shadowFile !== undefined) {
    const text = readUserText('--shadow-config', shadowFile, FILE_LIMITS.json, onOpen);
    try {
      out.shadow = parseShadowConfigJson(text);
    } catch (e) {
      // Name the file given, not just 'shadow_config.json'.
      if (e instanceof StudioError) throw new StudioError(e.code, `--shadow-config ${shadowFile}: ${e.detail}`, e.hint);
      throw e;
    }
  }
  // No IndexedDB in Node: checkpoints are the browser's; the CLI writes the adapter at the end.
  out.checkpointEvery = null;
  return out;
}

function describe(e: TrainEvent): string {
  switch (e.type) {
    case 'step':
      return `step ${e.step}  epoch ${e.epoch.toFixed(2)}  loss ${e.loss.toFixed(4)} (base ${e.baseLoss.toFixed(4)}, shadow ${e.shadowLoss.toFixed(4)})  lr ${e.lr.toExponential(2)}  |g| ${e.gradNorm.toFixed(3)}  ${Math.round(e.tokensPerSecond)} tok/s  eta ${(e.etaMs / 1000).toFixed(0)} s`;
    case 'eval':
      return `eval ${e.step}  val loss ${e.valLoss.toFixed(4)}  perplexity ${e.perplexity.toFixed(2)}  shadow-only ${e.shadowValLoss.toFixed(4)}`;
    case 'eval-progress':
      // one line when an evaluation starts; its end is the eval line
      return e.done === 0 ? `evaluating ${e.total} batches after step ${e.step}` : '';
    case 'eval-cancelled':
      return `evaluation after step ${e.step} ${e.reason}`;
    case 'skipped':
      return `skipped step ${e.step} (${e.consecutive} in a row): ${e.reason}`;
    case 'paused':
      return `paused at step ${e.step} (${e.reason})`;
    case 'checkpoint':
      return `checkpoint ${e.id}`;
    case 'checkpoint-error':
      return `checkpoint failed at step ${e.step}: ${e.message}`;
    case 'done':
      return `done: ${e.reason} after ${e.step} steps${e.bestValLoss !== null ? `, best val loss ${e.bestValLoss.toFixed(4)} at step ${e.bestStep}` : ''}`;
  }
}

/**
 * The skipped records of a dataset as the studio's Data screen groups them (issueGroups.ts): the count,
 * then the first groups with their reason and line ranges. Empty when nothing was skipped.
 */
export function skippedRecordsReport(d: Pick<PreparedDataset, 'issues' | 'malformedRecords' | 'dropped'>, maxGroups = 5): string[] {
  const total = d.malformedRecords + d.dropped;
  if (total === 0) return [];
  const groups = groupIssues(d.issues, total);
  const parts = [d.malformedRecords > 0 ? `${formatInt(d.malformedRecords)} malformed` : '', d.dropped > 0 ? `${formatInt(d.dropped)} with nothing to learn after cutting at the max length` : ''].filter(Boolean);
  const lines = [`${formatInt(total)} record${total === 1 ? '' : 's'} skipped (${parts.join(', ')}):`, ...formatIssueGroups(groups, maxGroups).map((l) => `  ${l}`)];
  if (d.malformedRecords > 0) lines.push(`  the formats the studio reads: ${DATA_FORMATS_DOC}`);
  return lines;
}

/**
 * --shadow-model <model> [--shadow-embeddings own|frozen|base]: a pretrained model as the shadow
 * (docs/shadowpeft.md §6), keeping its embeddings trained (default), frozen, or fed the base's. Returns it
 * (its config.json read) and where its weights come from; null without --shadow-model.
 */
export async function explicitShadowFlags(flags: Flags, onOpen?: OnOpen): Promise<{ explicit: ExplicitShadow; source: ModelSource } | null> {
  const arg = text(flags, 'shadow-model');
  const embeddings = text(flags, 'shadow-embeddings');
  if (embeddings !== undefined && embeddings !== 'own' && embeddings !== 'frozen' && embeddings !== 'base') {
    throw flagError('shadow-embeddings', embeddings, "must be 'own' (the shadow keeps and trains its embeddings), 'frozen' (keeps them as pretrained) or 'base' (it is fed the base's)");
  }
  if (arg === undefined) {
    if (embeddings !== undefined) throw flagError('shadow-embeddings', embeddings, 'only applies with --shadow-model');
    return null;
  }
  const source = sourceFromArg(arg, { onOpen });
  return { explicit: await readExplicitShadow(source, embeddingChoice(embeddings ?? 'own')), source };
}

/** Where cli train writes its lines and gets its GPU (a GPU given here is the caller's to release). */
export interface TrainIo {
  out?(line: string): void;
  gpu?(): Promise<Gpu>;
  onOpen?: OnOpen;
}

export async function runTrain(flags: Flags, io: TrainIo = {}): Promise<void> {
  const print = io.out ?? ((line: string) => console.log(line));
  const modelArg = text(flags, 'model');
  const dataPath = text(flags, 'data');
  const outDir = text(flags, 'out');
  if (!modelArg || !dataPath || !outDir) throw new StudioError(TrainErrorCode.badRunConfig, 'train needs --model, --data and --out', TRAIN_USAGE);
  const dtype = (text(flags, 'dtype') ?? 'f32').toUpperCase();
  if (dtype !== 'F32' && dtype !== 'BF16') throw flagError('dtype', flags.dtype, "must be 'f32' or 'bf16'");
  const template = text(flags, 'template');
  if (template !== undefined && !['auto', 'chat', 'plain'].includes(template)) throw flagError('template', template, "must be 'auto', 'chat' or 'plain'");
  const format = text(flags, 'format');
  const formats = Object.keys(FORMAT_NAMES).filter((f) => f !== 'plain_text'); // a .txt file is plain text by its name
  if (format !== undefined && !formats.includes(format)) throw flagError('format', format, `must be one of ${formats.join(', ')}`);
  // The flags, then the files they name, then the output folder: all before the GPU is touched.
  const fromFlags = trainOverrides(flags, io.onOpen);
  checkOutDir('--out', outDir);
  const dataText = readUserText('--data', dataPath, FILE_LIMITS.dataset, io.onOpen);
  const shadowModel = await explicitShadowFlags(flags, io.onOpen);
  const overrides = { ...fromFlags, ...(shadowModel ? { explicitShadow: shadowModel.explicit } : {}) };
  const source = sourceFromArg(modelArg, { onOpen: io.onOpen });
  const json = flags.json === true;
  let own: Gpu | null = null;
  const gpu = io.gpu ? await io.gpu() : (own = await ownGpu());
  try {
    const r = await trainHeadless({
      gpu,
      source,
      data: { text: dataText, fileName: basename(dataPath), format: format as RecordFormat | undefined, template: template as 'auto' | 'chat' | 'plain' | undefined },
      overrides,
      shadowSource: shadowModel?.source,
      adapterDtype: dtype,
      onDataset: (d) => {
        if (!json) for (const line of skippedRecordsReport(d)) print(line);
      },
      onEvent: (e) => {
        const line = json ? JSON.stringify(e) : describe(e);
        if (line) print(line);
      },
    });
    writeUserFile('--out', join(outDir, 'shadow_config.json'), r.files.configJson, { mkdir: true });
    writeUserFile('--out', join(outDir, 'shadow_adapter.safetensors'), r.files.safetensors);
    const summary = { type: 'saved', out: outDir, steps: r.result.progress.step, reason: r.result.reason, ...r.counts, datasetFingerprint: r.datasetFingerprint };
    print(json ? JSON.stringify(summary) : `saved ${outDir}/shadow_config.json and shadow_adapter.safetensors (${r.counts.train} train / ${r.counts.validation} validation examples, ${summary.steps} steps)`);
  } catch (e) {
    // The data pipeline's errors (E4xx, E302) name lines and records; say which file they are in.
    if (e instanceof StudioError && (/^E40[123]$/.test(e.code) || e.code === TrainErrorCode.noTrainingData)) throw new StudioError(e.code, `--data ${dataPath}: ${e.detail}`, e.hint);
    throw e;
  } finally {
    (own as Gpu | null)?.destroy();
  }
}

async function ownGpu(): Promise<Gpu> {
  const { device, caps } = await acquireDevice();
  return new Gpu(device, caps.isSoftware ? { ...caps, memoryBytes: totalmem() } : caps); // as commands.ts processIo
}
