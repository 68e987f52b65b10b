/**
 * The files that travel with a downloaded adapter besides the weights: the model card (README.md)
 * and the loss history as CSV. Pure functions of the studio's state, so they are unit-tested.
 */
import type { DatasetSummary, TrainingSettings } from '../../../workers/api';
import type { ShadowEmbeddings } from '../../shadow/explicitShadow';
import { explicitShadowFromMetadata, shadowEmbeddingsOf } from '../../shadow/explicitShadow';
import { parseSafetensors } from '../../model/safetensors/parse';
import { localFolderName } from '../../model/sources/source';
import { FORMAT_NAMES } from '../../train/data/formats';
import type { TrainHistory } from '../store/trainProgress';
import { formatCount, formatMetric } from './format';
import { REPO_ID } from './modelSource';

export interface ModelCardInput {
  /**
   * The base model's id as the adapter records it (`base_model`): a Hub repo id, `local folder <name>`
   * or a URL (see modelRefOf). Never a display title: the card's Python has to load it.
   */
  baseModel: string;
  /** The Hub revision the base was read at (null, or "main", for the default branch). */
  baseRevision: string | null;
  /** Where the studio read a folder's files from (the bundled model's /models/<name>/), else null. */
  baseFilesUrl: string | null;
  data: Pick<DatasetSummary, 'fileName' | 'format' | 'records' | 'trainExamples' | 'validationExamples' | 'stats' | 'fingerprint'> | null;
  settings: TrainingSettings;
  /**
   * The adapter's explicit shadow as its file records it (null: the implicit shadow). Taken from the
   * file, not the settings: a stored checkpoint or an imported adapter may differ from them.
   */
  explicitShadow: ExplicitShadowRecord | null;
  maxLength: number | null;
  history: TrainHistory;
  trainableParameters: number | null;
  dtype: 'F32' | 'BF16';
  createdAt: Date;
}

/** Final metrics of a run as the card reports them. */
export function finalMetrics(h: TrainHistory) {
  const n = h.step.length;
  let bestVal: number | null = null;
  let bestValStep: number | null = null;
  h.valLoss.forEach((v, i) => {
    if (Number.isFinite(v) && (bestVal === null || v < bestVal)) {
      bestVal = v;
      bestValStep = h.valStep[i]!;
    }
  });
  return {
    steps: n ? h.step[n - 1]! : 0,
    finalLoss: n ? h.loss[n - 1]! : null,
    firstLoss: n ? h.loss[0]! : null,
    finalValLoss: h.valLoss.length ? h.valLoss[h.valLoss.length - 1]! : null,
    bestValLoss: bestVal as number | null,
    bestValStep: bestValStep as number | null,
  };
}

/** What a model card says of an explicit shadow: the model, where to get it, how it takes tokens. */
export interface ExplicitShadowRecord {
  id: string;
  revision: string | null;
  embeddings: ShadowEmbeddings;
}

/** The explicit shadow an adapter file records in its metadata (null: implicit, or not recorded). */
export function explicitShadowRecordOf(safetensors: ArrayBuffer | Uint8Array): ExplicitShadowRecord | null {
  const e = explicitShadowFromMetadata(parseSafetensors(safetensors instanceof Uint8Array ? safetensors : new Uint8Array(safetensors)).metadata);
  return e ? { id: e.id, revision: e.revision ?? null, embeddings: shadowEmbeddingsOf(e) } : null;
}

/**
 * What a recorded model id says about where the model can be had: a Hub repo (Python loads it by
 * name), a folder that is not on the Hub (Python needs its path), or a URL that served the Hub layout
 * (download its files into a folder first).
 */
export type ModelRef = { kind: 'hub'; repo: string } | { kind: 'folder'; name: string } | { kind: 'url'; url: string; name: string };

export function modelRefOf(id: string): ModelRef {
  const folder = localFolderName(id);
  if (folder !== null) return { kind: 'folder', name: folder };
  if (/^https?:\/\//i.test(id)) return { kind: 'url', url: id, name: id.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() || 'model' };
  if (REPO_ID.test(id)) return { kind: 'hub', repo: id };
  // A bare name: the CLI records a folder by its name; an older studio recorded a bundled model's title.
  return { kind: 'folder', name: id };
}

/** A short name of a model for file names: the repo id, the folder's or the URL's last segment. */
export function modelShortName(id: string): string {
  const ref = modelRefOf(id);
  return ref.kind === 'hub' ? ref.repo : ref.name;
}

/**
 * The argument of `from_pretrained` for a model, and the comment a reader needs before it: a Hub
 * repo by name (with its revision), anything else as a path placeholder to replace.
 */
function pythonModelArg(ref: ModelRef, revision: string | null, what: string): { arg: string; comment: string | null } {
  if (ref.kind === 'hub') return { arg: pyString(ref.repo) + (revision ? `, revision=${pyString(revision)}` : ''), comment: null };
  const path = pyString(`./${ref.name}`);
  if (ref.kind === 'folder') return { arg: path, comment: `# ${what} is the local folder ${ref.name}, not a Hub repo: download the folder and pass its path here` };
  return { arg: path, comment: `# ${what} was read from ${ref.url}: download its files into a folder and pass its path here` };
}

/** How the card names a model in prose (Markdown). */
function modelProse(ref: ModelRef, revision: string | null, filesUrl: string | null): string {
  const files = 'config.json, the safetensors weights, tokenizer.json and tokenizer_config.json';
  if (ref.kind === 'hub') return `\`${ref.repo}\`${revision ? ` at revision \`${revision}\`` : ''} on the Hugging Face Hub (https://huggingface.co/${ref.repo})`;
  if (ref.kind === 'folder') {
    return `the local folder \`${ref.name}\`, not a Hugging Face Hub repository: download that folder (${files}) and pass its path` + (filesUrl ? `; the studio read its files from ${filesUrl}` : '');
  }
  return `the model served at ${ref.url}, not a Hugging Face Hub repository: download its files (${files}) into a folder and pass its path`;
}

/**
 * The base model an adapter file records in its metadata (`base_model`, and the revision under either
 * key the studio writes), nulls when absent (an adapter saved by the Python package).
 */
export function baseModelRecordOf(safetensors: ArrayBuffer | Uint8Array): { id: string | null; revision: string | null } {
  const meta = parseSafetensors(safetensors instanceof Uint8Array ? safetensors : new Uint8Array(safetensors)).metadata;
  const text = (v: string | undefined) => (v ? v : null);
  return { id: text(meta.base_model), revision: text(meta.base_model_revision) ?? text(meta.base_revision) };
}

export function buildModelCard(c: ModelCardInput): string {
  const s = c.settings;
  const sh = s.shadow;
  const m = finalMetrics(c.history);
  const baseRef = modelRefOf(c.baseModel);
  const baseRevision = c.baseRevision && c.baseRevision !== 'main' ? c.baseRevision : null;
  const base = pythonModelArg(baseRef, baseRevision, 'the base model');
  const effectiveBatch = s.microBatchSize * s.gradientAccumulation;
  const explicit = c.explicitShadow;
  const shadowLoad = explicit ? (explicit.revision ? `${explicit.id}@${explicit.revision}` : explicit.id) : null;
  const shadowArg = explicit ? pythonModelArg(modelRefOf(explicit.id), explicit.revision, 'the shadow model') : null;
  const lines: string[] = [
    '---',
    'library_name: shadow-peft',
    // The Hub reads base_model as a repo id: a folder or URL has none to give.
    ...(baseRef.kind === 'hub' ? [`base_model: ${yamlString(baseRef.repo)}`] : []),
    'tags:',
    '  - shadow-peft',
    '  - peft',
    '  - shadowpeft-studio',
    '---',
    '',
    `# ShadowPEFT adapter for ${c.baseModel}`,
    '',
    `A ShadowPEFT adapter trained in the browser with ShadowPEFT Studio on ${c.createdAt.toISOString().slice(0, 10)}.`,
    'The base model stays frozen; this folder holds only the shadow network and its per-layer injection',
    'and update modules' + (c.trainableParameters ? ` (${formatCount(c.trainableParameters)} trainable parameters)` : '') + `, stored as ${c.dtype}.`,
    '',
    '## Files',
    '',
    '| file | contents |',
    '|---|---|',
    '| `shadow_config.json` | the adapter configuration, in the format of the `shadow-peft` Python package |',
    '| `shadow_adapter.safetensors` | the adapter weights (shadow model, injection and update modules) |',
    '| `loss_history.csv` | training and validation loss per step |',
    '| `README.md` | this card |',
    '',
    '## Base model',
    '',
    `- ${modelProse(baseRef, baseRevision, c.baseFilesUrl)}`,
    '',
    ...(explicit
      ? [
          '## Shadow model',
          '',
          `The shadow is the pretrained model ${shadowLoad} (an explicit shadow), fine-tuned here: it ${explicit.embeddings === 'base' ? 'is fed the base model’s token embeddings' : explicit.embeddings === 'frozen' ? 'keeps its own token embeddings as pretrained (frozen; the file holds them unchanged)' : 'keeps and trains its own token embeddings'}.`,
          'When its width differs from the base’s, `shadow_hidden_projection` maps its states to the base width. The',
          'adapter file records its config.json in the safetensors metadata (`shadow_model_config`).',
          '',
        ]
      : []),
    '## Training data',
    '',
  ];
  if (c.data) {
    const d = c.data;
    lines.push(
      `- file: \`${d.fileName}\` (${FORMAT_NAMES[d.format] ?? d.format}), fingerprint \`${d.fingerprint}\``,
      `- ${d.records} records → ${d.trainExamples} training and ${d.validationExamples} validation examples`,
      `- ${formatCount(d.stats.tokenCount)} tokens, ${formatCount(d.stats.supervisedTokenCount)} of them supervised; mean length ${d.stats.meanLength.toFixed(1)} tokens` +
        (c.maxLength ? `, cut at ${c.maxLength}` : '') +
        `; ${d.stats.truncatedCount} truncated`,
    );
  } else {
    lines.push('- not recorded in this session');
  }
  lines.push(
    '',
    '## Hyperparameters',
    '',
    '| setting | value |',
    '|---|---|',
    ...(explicit
      ? [`| shadow model | ${shadowLoad} (its own layers and sizes) |`]
      : [`| shadow layers (num_shadow_layers) | ${sh.num_shadow_layers} |`, `| shadow MLP width (shadow_intermediate_size) | ${sh.shadow_intermediate_size ?? 'as the base'} |`]),
    `| injection rank (injection_hidden_size) | ${sh.injection_hidden_size} |`,
    `| gate width (gate_hidden_size) | ${sh.gate_hidden_size} |`,
    `| alpha | ${sh.alpha} |`,
    `| dropout | ${sh.dropout} |`,
    `| shadow loss weight λ | ${s.shadowLossWeight} |`,
    `| optimizer | AdamW, learning rate ${s.learningRate}, weight decay ${s.weightDecay} |`,
    `| schedule | ${s.schedule}, warm-up ratio ${s.warmupRatio} |`,
    `| batch | ${s.microBatchSize} × ${s.gradientAccumulation} accumulation = ${effectiveBatch} sequences per step |`,
    `| epochs | ${s.epochs} |`,
    `| gradient clipping | ${s.maxGradNorm} |`,
    `| seed | ${s.seed} |`,
    '',
    '## Results',
    '',
    `- optimizer steps: ${m.steps}`,
    `- training loss: ${formatMetric(m.firstLoss)} at the first step → ${formatMetric(m.finalLoss)} at the last`,
    m.bestValLoss !== null ? `- validation loss: best ${formatMetric(m.bestValLoss)} at step ${m.bestValStep}, last ${formatMetric(m.finalValLoss)}` : '- validation loss: not evaluated',
    '',
    '## Use it in Python',
    '',
    'Install the reference implementation, `pip install shadow-peft` (it needs PyTorch and Transformers),',
    'unzip this folder, and load the adapter on top of the same base model:',
    '',
    '```python',
    'from transformers import AutoModelForCausalLM, AutoTokenizer',
    'from shadow_peft import ShadowForCausalLM',
    '',
    ...(base.comment
      ? [base.comment, `base_path = ${base.arg}`, 'base = AutoModelForCausalLM.from_pretrained(base_path)', 'tokenizer = AutoTokenizer.from_pretrained(base_path)']
      : [`base = AutoModelForCausalLM.from_pretrained(${base.arg})`, `tokenizer = AutoTokenizer.from_pretrained(${base.arg})`]),
    '',
    ...(explicit && shadowArg
      ? [
          '# the explicit shadow: the same pretrained model it was trained from',
          ...(shadowArg.comment ? [shadowArg.comment] : []),
          `shadow = AutoModelForCausalLM.from_pretrained(${shadowArg.arg})`,
          ...(explicit.embeddings !== 'base' ? [] : ['from shadow_peft.peft_model import prepare_shadow_model', 'shadow = prepare_shadow_model(shadow, remove_embed_tokens=True)  # fed the base embeddings']),
          '',
          '# the folder that holds shadow_config.json and shadow_adapter.safetensors',
          'model = ShadowForCausalLM.from_pretrained(base, "path/to/this/folder", shadow_model=shadow, is_trainable=False, inference_mode="base_shadow")',
        ]
      : ['# the folder that holds shadow_config.json and shadow_adapter.safetensors', 'model = ShadowForCausalLM.from_pretrained(base, "path/to/this/folder", is_trainable=False, inference_mode="base_shadow")']),
    'model.eval()',
    '',
    'inputs = tokenizer("Hello", return_tensors="pt")',
    '# the reference package runs without a KV cache',
    'out = model.generate(**inputs, use_cache=False, max_new_tokens=64)',
    'print(tokenizer.decode(out[0], skip_special_tokens=True))',
    '',
    '# the detached shadow alone (no base layers): small and fast',
    'model.set_inference_mode("shadow_only")',
    '```',
    '',
    'The class names follow the `shadow-peft` README; if your installed version differs, its',
    '`ShadowPeftModel.from_pretrained(base, path)` loads the same two files.',
    '',
  );
  return lines.join('\n');
}

/** One row per optimizer step: the step's losses, learning rate and gradient norm, and val_loss where evaluated. */
export function lossHistoryCsv(h: TrainHistory): string {
  const val = new Map<number, number>();
  h.valStep.forEach((s, i) => val.set(s, h.valLoss[i]!));
  const rows = ['step,epoch,loss,base_loss,shadow_loss,learning_rate,grad_norm,tokens_per_second,val_loss'];
  const seen = new Set<number>();
  for (let i = 0; i < h.step.length; i++) {
    const s = h.step[i]!;
    seen.add(s);
    const v = val.get(s);
    rows.push([s, h.epoch[i], h.loss[i], h.baseLoss[i], h.shadowLoss[i], h.lr[i], h.gradNorm[i], h.tokensPerSecond[i], v ?? ''].map(csvNumber).join(','));
  }
  // evaluations at steps with no step row (e.g. an evaluation before the first step)
  for (const [s, v] of val) if (!seen.has(s)) rows.push([s, '', '', '', '', '', '', '', v].map(csvNumber).join(','));
  return rows.join('\n') + '\n';
}

function csvNumber(x: number | string | undefined): string {
  if (x === undefined || x === '') return '';
  if (typeof x === 'string') return x;
  return Number.isFinite(x) ? String(x) : x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
}

/** A CSV field, quoted when it holds a comma, quote or newline. */
export function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function pyString(s: string): string {
  return JSON.stringify(s);
}

function yamlString(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : JSON.stringify(s);
}
