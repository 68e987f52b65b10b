/**
 * Checks the bundled pretrained model in public/models/kjv-llama-3m (written by tools/pretrain): the app
 * accepts its config and weight table, transformers.js loads its tokenizer offline and encodes exactly
 * like the Python encoder the model was trained with, and eval.json belongs to validation.txt.
 * Also checks that the demo datasets listed in public/datasets/index.json exist and are well formed.
 * No GPU: the engine's reproduction of the validation loss is tested with the engine.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { parameterCount } from '../../src/model/config';
import { modelConfigFromHf } from '../../src/model/families/registry';
import type { HfConfig } from '../../src/model/families/hfConfig';
import { parseSafetensors } from '../../src/model/safetensors/parse';
import { weightSpecs } from '../../src/model/weights';

const NAME = 'kjv-llama-3m';
const MODELS = fileURLToPath(new URL('../../public/models/', import.meta.url));
const DATASETS = fileURLToPath(new URL('../../public/datasets/', import.meta.url));
const DIR = `${MODELS}${NAME}/`;
const REGENERATE = 'regenerate with tools/pretrain (see tools/pretrain/README.md)';

interface EvalJson {
  window: number;
  tokens: number;
  validation_ids_sha256: string;
  predicted_tokens: number;
  validation_loss: number;
  validation_perplexity: number;
  window_losses: { predicted_tokens: number; loss: number }[];
  held_out: { tokens: number; loss: number; perplexity: number };
  greedy: { prompt: string; prompt_ids: number[]; new_ids: number[]; text: string }[];
  tokenizer_check: { text: string; ids: number[] }[];
}

const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const hfConfig = readJson<HfConfig & { vocab_size: number; max_position_embeddings: number }>(`${DIR}config.json`);
const evals = readJson<EvalJson>(`${DIR}eval.json`);

async function loadTokenizer() {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = MODELS;
  return AutoTokenizer.from_pretrained(NAME);
}

describe(`bundled model ${NAME}`, () => {
  it('is a Llama config the app accepts, with exactly the weights of its weight table', () => {
    const cfg = modelConfigFromHf(hfConfig);
    expect(cfg.modelType).toBe('llama');
    expect(cfg.numLayers).toBeGreaterThanOrEqual(4);
    expect(cfg.tieWordEmbeddings).toBe(true);
    expect(cfg.ropeTheta).toBe(10000);
    expect(cfg.qkvBias).toBe(false);
    const st = parseSafetensors(new Uint8Array(readFileSync(`${DIR}model.safetensors`)), 'model.safetensors');
    const specs = weightSpecs(cfg);
    expect([...st.tensors.keys()].sort(), REGENERATE).toEqual(specs.map((s) => s.name).sort());
    for (const s of specs) {
      const t = st.tensors.get(s.name)!;
      expect(t.shape, s.name).toEqual(s.shape);
      expect(t.dtype, s.name).toBe('F32');
    }
    const stored = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    expect(stored).toBe(parameterCount(cfg));
    expect(stored).toBeGreaterThan(2_000_000); // "a few million parameters"
  });

  it('fits the size budget of a bundled model (≤ 25 MB)', () => {
    const total = readdirSync(DIR).reduce((n, f) => n + statSync(DIR + f).size, 0);
    expect(total).toBeLessThanOrEqual(25_000_000);
    expect(statSync(`${DIR}validation.txt`).size).toBeLessThanOrEqual(100_000);
  });

  it('tokenizer loads offline and encodes/decodes exactly like the Python trainer', async () => {
    const tok = await loadTokenizer();
    expect(tok.get_vocab().size).toBe(hfConfig.vocab_size);
    expect(evals.tokenizer_check.length).toBeGreaterThanOrEqual(3);
    for (const { text, ids } of evals.tokenizer_check) {
      expect(tok.encode(text, { add_special_tokens: false }), JSON.stringify(text)).toEqual(ids);
      expect(tok.decode(ids)).toBe(text);
    }
    for (const g of evals.greedy) {
      expect(tok.encode(g.prompt, { add_special_tokens: false })).toEqual(g.prompt_ids);
      expect(tok.decode(g.new_ids)).toBe(g.text);
    }
  });

  it('has ChatML special tokens and chat template; generation stops on <|eos|> and <|im_end|>', async () => {
    const tok = await loadTokenizer();
    const chat = tok.apply_chat_template(
      [
        { role: 'user', content: 'Say this in modern English:\nThou art.' },
        { role: 'assistant', content: 'You are.' },
      ],
      { tokenize: false },
    );
    expect(chat).toBe('<|im_start|>user\nSay this in modern English:\nThou art.<|im_end|>\n<|im_start|>assistant\nYou are.<|im_end|>\n');
    const prompt = tok.apply_chat_template([{ role: 'user', content: 'hi' }], { add_generation_prompt: true, tokenize: false });
    expect(prompt).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
    const ids = tok.encode('<|im_start|>user\nhi<|im_end|>', { add_special_tokens: false });
    expect(ids[0]).toBe(3);
    expect(ids[ids.length - 1]).toBe(4);
    expect(tok.encode('<|pad|><|bos|><|eos|>', { add_special_tokens: false })).toEqual([0, 1, 2]);
    expect(tok.encode('In the beginning')).toEqual(tok.encode('In the beginning', { add_special_tokens: false })); // nothing added
    const gen = readJson<{ eos_token_id: number[]; bos_token_id: number; pad_token_id: number }>(`${DIR}generation_config.json`);
    expect(gen.eos_token_id).toEqual([2, 4]);
    expect([hfConfig.bos_token_id, hfConfig.eos_token_id, hfConfig.pad_token_id]).toEqual([1, 2, 0]);
  });

  it('eval.json belongs to validation.txt: same ids, windows and loss', async () => {
    const tok = await loadTokenizer();
    const text = readFileSync(`${DIR}validation.txt`, 'utf8');
    const ids = tok.encode(text, { add_special_tokens: false });
    expect(ids.length, REGENERATE).toBe(evals.tokens);
    expect(createHash('sha256').update(ids.join(',')).digest('hex'), REGENERATE).toBe(evals.validation_ids_sha256);
    // windows of `window` tokens, the last one shorter: each predicts all but its first token
    const T = evals.window;
    expect(T).toBe(hfConfig.max_position_embeddings);
    const sizes = evals.window_losses.map((w) => w.predicted_tokens);
    expect(sizes.length).toBe(Math.ceil(ids.length / T) - (ids.length % T === 1 ? 1 : 0));
    expect(sizes.slice(0, -1).every((n) => n === T - 1)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(evals.predicted_tokens);
    const mean = evals.window_losses.reduce((s, w) => s + w.loss * w.predicted_tokens, 0) / evals.predicted_tokens;
    expect(mean).toBeCloseTo(evals.validation_loss, 9);
    expect(evals.validation_perplexity).toBeCloseTo(Math.exp(evals.validation_loss), 6);
    // a pretrained model: far better than uniform guessing over the vocabulary (ln 1024 ≈ 6.93)
    expect(evals.validation_loss).toBeLessThan(0.6 * Math.log(hfConfig.vocab_size));
    expect(evals.held_out.loss).toBeLessThan(0.6 * Math.log(hfConfig.vocab_size));
  });
});

describe('demo datasets in public/datasets', () => {
  const index = readJson<{ file: string; title: string; description: string; format: string }[]>(`${DATASETS}index.json`);

  it('index lists 2-3 files that exist, are ≤ 1 MB and match their format', () => {
    expect(index.length).toBeGreaterThanOrEqual(2);
    expect(index.length).toBeLessThanOrEqual(3);
    for (const d of index) {
      expect(d.title.length).toBeGreaterThan(0);
      expect(d.description.length).toBeGreaterThan(0);
      expect(statSync(DATASETS + d.file).size, d.file).toBeLessThanOrEqual(1_000_000);
      const text = readFileSync(DATASETS + d.file, 'utf8');
      if (d.format === 'plain_text') {
        expect(d.file.endsWith('.txt')).toBe(true);
        continue;
      }
      const rows = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const r of rows) {
        if (d.format === 'chat') {
          const msgs = r['messages'] as { role: string; content: string }[];
          expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant']);
          expect(msgs.every((m) => typeof m.content === 'string' && m.content.length > 0)).toBe(true);
        } else {
          expect(d.format).toBe('classification');
          expect(typeof r['text']).toBe('string');
          expect(typeof r['label']).toBe('string');
        }
      }
    }
  });
});
