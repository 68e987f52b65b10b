import { describe, expect, it } from 'vitest';
import type { TrainingSettings } from '../../../workers/api';
import { SHADOW_PRESETS } from '../../shadow/presets';
import { emptyProgress, reduceTraining } from '../store/trainProgress';
import { settingsFromPreset } from '../store/trainingSlice';
import { baseModelRecordOf, buildModelCard, csvField, explicitShadowRecordOf, finalMetrics, lossHistoryCsv, modelRefOf, modelShortName } from './modelCard';
import { filesSource } from '../../model/sources/filesSource';
import { localFolderId } from '../../model/sources/source';
import { bundledChoice } from '../store/modelSlice';
import { pickSession, restoreSession } from '../store/persist';
import { resetStudio, useStudio } from '../store/store';
import type { ModelChoice } from './modelSource';
import { serializeSafetensors } from '../../model/safetensors/serialize';
import { explicitShadowMetadata } from '../../shadow/explicitShadow';

const settings: TrainingSettings = settingsFromPreset(SHADOW_PRESETS[0]!);
const history = reduceTraining(emptyProgress(), [
  { type: 'train-eval', step: 0, valLoss: 3.5, perplexity: 33 },
  { type: 'train-step', step: 1, totalSteps: 3, epoch: 0.5, loss: 3, baseLoss: 2.9, shadowLoss: 4, lr: 0.001, gradNorm: 2, tokensPerSecond: 100, elapsedMs: 1, etaMs: 2, memoryBytes: 0 },
  { type: 'train-step', step: 2, totalSteps: 3, epoch: 1, loss: 2, baseLoss: 1.9, shadowLoss: 3, lr: 0.002, gradNorm: Number.NaN, tokensPerSecond: 110, elapsedMs: 2, etaMs: 1, memoryBytes: 0 },
  { type: 'train-eval', step: 2, valLoss: 2.5, perplexity: 12.2 },
]).history;

describe('lossHistoryCsv', () => {
  it('writes one row per step, val_loss where evaluated, and evaluations without a step row', () => {
    const rows = lossHistoryCsv(history).trimEnd().split('\n');
    expect(rows[0]).toBe('step,epoch,loss,base_loss,shadow_loss,learning_rate,grad_norm,tokens_per_second,val_loss');
    expect(rows[1]).toBe('1,0.5,3,2.9,4,0.001,2,100,');
    expect(rows[2]).toBe('2,1,2,1.9,3,0.002,nan,110,2.5');
    expect(rows[3]).toBe('0,,,,,,,,3.5');
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r.split(',')).toHaveLength(9);
  });
});

describe('buildModelCard', () => {
  const card = buildModelCard({
    baseModel: 'Qwen/Qwen3-0.6B',
    baseRevision: 'main',
    baseFilesUrl: null,
    data: {
      fileName: 'gsm8k.jsonl',
      format: 'chat',
      records: 10,
      trainExamples: 9,
      validationExamples: 1,
      fingerprint: 'abc123',
      stats: { exampleCount: 10, tokenCount: 1200, supervisedTokenCount: 400, targetTokenCount: 390, minLength: 50, maxLength: 200, meanLength: 120, histogram: [], truncatedCount: 2, droppedCount: 0 },
    },
    settings,
    explicitShadow: null,
    maxLength: 512,
    history,
    trainableParameters: 9_073_920,
    dtype: 'F32',
    createdAt: new Date('2026-05-01T12:00:00Z'),
  });

  it('names the base model, the data, the hyperparameters and the results', () => {
    expect(card).toContain('base_model: Qwen/Qwen3-0.6B');
    expect(card).toContain('# ShadowPEFT adapter for Qwen/Qwen3-0.6B');
    expect(card).toContain('`gsm8k.jsonl` (chat messages)');
    expect(card).toContain('9 training and 1 validation examples');
    expect(card).toContain('2 truncated');
    expect(card).toContain(`| injection rank (injection_hidden_size) | ${settings.shadow.injection_hidden_size} |`);
    expect(card).toContain(`learning rate ${settings.learningRate}`);
    expect(card).toContain('9.07M trainable parameters');
    expect(card).toContain('optimizer steps: 2');
    expect(card).toContain('best 2.5 at step 2');
  });

  it('shows how to load the adapter in Python with shadow-peft, on the same base', () => {
    expect(card).toContain('pip install shadow-peft');
    expect(card).toContain('from shadow_peft import ShadowForCausalLM');
    expect(card).toContain('AutoModelForCausalLM.from_pretrained("Qwen/Qwen3-0.6B")');
    expect(card).toContain('ShadowForCausalLM.from_pretrained(base, "path/to/this/folder"');
    expect(card.match(/```/g)).toHaveLength(2);
  });

  it('an explicit shadow: names the shadow model and passes it to the Python loader', () => {
    const input = { baseModel: 'Qwen/Qwen3-8B', baseRevision: null, baseFilesUrl: null, data: null, settings, maxLength: null, history, trainableParameters: null, dtype: 'F32' as const, createdAt: new Date(0) };
    const own = buildModelCard({ ...input, explicitShadow: { id: 'Qwen/Qwen3-0.6B', revision: null, embeddings: 'own' } });
    expect(own).toContain('## Shadow model');
    expect(own).toContain('| shadow model | Qwen/Qwen3-0.6B (its own layers and sizes) |');
    expect(own).not.toContain('num_shadow_layers');
    expect(own).toContain('shadow = AutoModelForCausalLM.from_pretrained("Qwen/Qwen3-0.6B")');
    expect(own).toContain('shadow_model=shadow');
    expect(own).not.toContain('prepare_shadow_model');
    const pinned = buildModelCard({ ...input, explicitShadow: { id: 'Qwen/Qwen3-0.6B', revision: 'abc123', embeddings: 'frozen' } });
    expect(pinned).toContain('shadow = AutoModelForCausalLM.from_pretrained("Qwen/Qwen3-0.6B", revision="abc123")');
    expect(pinned).toContain('Qwen/Qwen3-0.6B@abc123 (an explicit shadow)');
    expect(pinned).toContain('frozen');
    const shared = buildModelCard({ ...input, explicitShadow: { id: 'https://example.org/m/', revision: null, embeddings: 'base' } });
    expect(shared).toContain('shadow = prepare_shadow_model(shadow, remove_embed_tokens=True)');
    expect(shared.match(/```/g)).toHaveLength(2);
    // a URL is nothing from_pretrained can read: a path placeholder, and what to download into it
    expect(shared).toContain('# the shadow model was read from https://example.org/m/: download its files into a folder and pass its path here\nshadow = AutoModelForCausalLM.from_pretrained("./m")');
    const folder = buildModelCard({ ...input, explicitShadow: { id: 'local folder kjv-llama-3m', revision: null, embeddings: 'own' } });
    expect(folder).toContain('# the shadow model is the local folder kjv-llama-3m, not a Hub repo: download the folder and pass its path here\nshadow = AutoModelForCausalLM.from_pretrained("./kjv-llama-3m")');
  });

  it('reads the explicit shadow from the adapter file\'s metadata, not from the settings', () => {
    const e = { id: 'Qwen/Qwen3-0.6B', revision: 'abc123', hfConfig: { model_type: 'qwen3' }, ownEmbeddings: true, freezeEmbeddings: true };
    const file = serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: new Uint8Array(4) }], explicitShadowMetadata(e));
    expect(explicitShadowRecordOf(file)).toEqual({ id: 'Qwen/Qwen3-0.6B', revision: 'abc123', embeddings: 'frozen' });
    expect(explicitShadowRecordOf(serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: new Uint8Array(4) }], { format: 'pt' }))).toBeNull();
  });

  it('says so when there is no data summary or evaluation', () => {
    const bare = buildModelCard({ baseModel: 'tiny', baseRevision: null, baseFilesUrl: null, data: null, settings, explicitShadow: null, maxLength: null, history: emptyProgress().history, trainableParameters: null, dtype: 'BF16', createdAt: new Date(0) });
    expect(bare).toContain('not recorded in this session');
    expect(bare).toContain('validation loss: not evaluated');
    expect(bare).toContain('stored as BF16');
  });
});

describe('the base model in the card: an id Python can load, never a display title', () => {
  const input = { data: null, settings, explicitShadow: null, maxLength: null, history, trainableParameters: null, dtype: 'F32' as const, createdAt: new Date(0) };
  const pythonOf = (card: string) => card.slice(card.indexOf('```python'), card.lastIndexOf('```'));

  it('a Hub model: by repo id, in the front matter and the snippet, with a pinned revision', () => {
    const card = buildModelCard({ ...input, baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct', baseRevision: 'abc123', baseFilesUrl: null });
    expect(card).toContain('\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n');
    expect(card).toContain('base = AutoModelForCausalLM.from_pretrained("HuggingFaceTB/SmolLM2-135M-Instruct", revision="abc123")');
    expect(card).toContain('tokenizer = AutoTokenizer.from_pretrained("HuggingFaceTB/SmolLM2-135M-Instruct", revision="abc123")');
    expect(card).toContain('https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(pythonOf(card)).not.toContain('base_path');
  });

  it('the bundled model: `local folder <name>`, a path placeholder with instructions, where its files were read', () => {
    const card = buildModelCard({ ...input, baseModel: 'local folder kjv-llama-3m', baseRevision: null, baseFilesUrl: 'http://127.0.0.1:5173/models/kjv-llama-3m/' });
    expect(card).not.toContain('bundled, offline');
    expect(card).not.toMatch(/^base_model:/m); // the Hub reads it as a repo id; a folder has none
    expect(card).toContain('# ShadowPEFT adapter for local folder kjv-llama-3m');
    expect(card).toContain('the local folder `kjv-llama-3m`, not a Hugging Face Hub repository: download that folder');
    expect(card).toContain('the studio read its files from http://127.0.0.1:5173/models/kjv-llama-3m/');
    const py = pythonOf(card);
    expect(py).toContain('# the base model is the local folder kjv-llama-3m, not a Hub repo: download the folder and pass its path here\nbase_path = "./kjv-llama-3m"\n');
    expect(py).toContain('base = AutoModelForCausalLM.from_pretrained(base_path)');
    expect(py).toContain('tokenizer = AutoTokenizer.from_pretrained(base_path)');
  });

  it('a base read from a URL: a path placeholder named after it; a bare name (CLI) is a folder', () => {
    const url = buildModelCard({ ...input, baseModel: 'https://example.org/models/tiny/', baseRevision: null, baseFilesUrl: 'https://example.org/models/tiny/' });
    expect(url).not.toMatch(/^base_model:/m);
    expect(pythonOf(url)).toContain('# the base model was read from https://example.org/models/tiny/: download its files into a folder and pass its path here\nbase_path = "./tiny"');
    const bare = buildModelCard({ ...input, baseModel: 'kjv-llama-3m', baseRevision: null, baseFilesUrl: null });
    expect(pythonOf(bare)).toContain('base_path = "./kjv-llama-3m"');
  });

  it('the studio records the bundled model and a picked folder as `local folder <name>`; the title is only shown', () => {
    const choice = bundledChoice({ name: 'kjv-llama-3m', title: 'KJV Llama 3M (bundled, offline)', description: '', url: 'http://127.0.0.1:5173/models/kjv-llama-3m/', isDefault: true });
    expect(choice.label).toBe('KJV Llama 3M (bundled, offline)');
    expect(choice.source).toEqual({ kind: 'url', url: 'http://127.0.0.1:5173/models/kjv-llama-3m/', label: 'local folder kjv-llama-3m' });
    expect(filesSource('kjv-llama-3m', []).id).toBe('local folder kjv-llama-3m');
  });

  it('a session saved before this naming restores its bundled choice recorded as the folder, not the title', () => {
    const old = { key: 'bundled:kjv-llama-3m', label: 'KJV Llama 3M (bundled, offline)', source: { kind: 'url' as const, url: 'http://127.0.0.1:5173/models/kjv-llama-3m/', label: 'KJV Llama 3M (bundled, offline)' } };
    const hub = { key: 'hub:Qwen/Qwen3-0.6B', label: 'Qwen/Qwen3-0.6B', source: { kind: 'hub' as const, repo: 'Qwen/Qwen3-0.6B' } };
    const session = (model: ModelChoice) => ({ ...pickSession(useStudio.getState()), model });
    try {
      restoreSession(session(old));
      expect(useStudio.getState().model.choice).toEqual({ ...old, source: { ...old.source, label: 'local folder kjv-llama-3m' } });
      restoreSession(session(hub));
      expect(useStudio.getState().model.choice).toEqual(hub);
    } finally {
      resetStudio();
    }
  });

  it('modelRefOf and modelShortName read the recorded ids', () => {
    expect(modelRefOf('Qwen/Qwen3-0.6B')).toEqual({ kind: 'hub', repo: 'Qwen/Qwen3-0.6B' });
    expect(modelRefOf(localFolderId('kjv-llama-3m'))).toEqual({ kind: 'folder', name: 'kjv-llama-3m' });
    expect(modelRefOf('http://127.0.0.1:5173/models/kjv-llama-3m/')).toEqual({ kind: 'url', url: 'http://127.0.0.1:5173/models/kjv-llama-3m/', name: 'kjv-llama-3m' });
    expect(modelRefOf('qwen3-tiny')).toEqual({ kind: 'folder', name: 'qwen3-tiny' });
    expect(modelShortName('local folder kjv-llama-3m')).toBe('kjv-llama-3m');
    expect(modelShortName('Qwen/Qwen3-0.6B')).toBe('Qwen/Qwen3-0.6B');
  });

  it('reads the base model an adapter file records, under either revision key', () => {
    const file = (meta: Record<string, string>) => serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: new Uint8Array(4) }], meta);
    expect(baseModelRecordOf(file({ base_model: 'local folder kjv-llama-3m', base_model_revision: '' }))).toEqual({ id: 'local folder kjv-llama-3m', revision: null });
    expect(baseModelRecordOf(file({ base_model: 'Qwen/Qwen3-0.6B', base_revision: 'main' }))).toEqual({ id: 'Qwen/Qwen3-0.6B', revision: 'main' });
    expect(baseModelRecordOf(file({ format: 'pt' }))).toEqual({ id: null, revision: null });
  });
});

describe('finalMetrics and csvField', () => {
  it('finds the best validation loss', () => {
    expect(finalMetrics(history)).toMatchObject({ steps: 2, firstLoss: 3, finalLoss: 2, bestValLoss: 2.5, bestValStep: 2 });
  });
  it('quotes fields with commas, quotes and newlines', () => {
    expect(csvField('a')).toBe('a');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('\n')).toBe('"\n"');
  });
});
