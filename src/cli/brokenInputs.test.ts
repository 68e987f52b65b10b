/**
 * Issue 19, "hostile and broken inputs: bounded, coded, contained": a table of broken models, shard
 * indexes, tokenizers, chat templates, adapters, batches, datasets and command lines, each generated
 * into its own temp folder from the fixtures and run through the CLI's own code (runCli, in-process,
 * on the test GPU; a few are spawned as a user would, for the exit code and the one-line message).
 *
 * Every case must end in exactly one line `E### message — hint` with a non-zero exit, the expected
 * code, and the file, key or value named; never an uncoded or internal error (E699), a crash or a hang.
 * Contained: it opens no file outside its own folder and the fixtures (a planted `other-model` beside
 * the model must never be read), and gives back every GPU byte. Bounded: the work is counted — bytes
 * read and GPU bytes allocated stay small, and cases marked so allocate nothing at all before they fail. The slowest case's time is printed once; wall-clock is never asserted.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import { parseSafetensors } from '../model/safetensors/parse';
import type { TensorToWrite } from '../model/safetensors/serialize';
import { serializeSafetensors } from '../model/safetensors/serialize';
import { SIZE_LIMITS } from '../model/limits';
import { FIXTURES_DIR } from '../model/testing/fixtures';
import { runCli } from './commands';
import { dirSource } from './nodeSources';

const FIX = resolve(FIXTURES_DIR);
type Json = Record<string, unknown>;

// ---------- building broken inputs from the fixtures ----------

interface Edits {
  /** edit config.json (return a value to replace it, a string to write it raw) */
  config?: (c: Json) => unknown;
  /** other files: text, bytes, a folder ({ dir: true }) or deleted (null) */
  files?: Record<string, string | Uint8Array | { dir: true } | null>;
}

function applyFiles(dir: string, files: Edits['files'] = {}): void {
  for (const [name, v] of Object.entries(files)) {
    const p = join(dir, name);
    rmSync(p, { recursive: true, force: true });
    if (v === null) continue;
    if (typeof v === 'object' && !(v instanceof Uint8Array)) mkdirSync(p, { recursive: true });
    else writeFileSync(p, v);
  }
}

/** A copy of a fixture model in `<case>/model`, edited; a real model is planted beside it in `<case>/other-model`. */
function model(dir: string, edits: Edits = {}, from = 'qwen3-tiny'): string {
  const m = join(dir, 'model');
  mkdirSync(m);
  for (const f of readdirSync(join(FIX, from))) if (!f.startsWith('golden')) cpSync(join(FIX, from, f), join(m, f));
  cpSync(join(FIX, 'qwen3-tiny'), join(dir, 'other-model'), { recursive: true });
  if (edits.config) {
    const c = JSON.parse(readFileSync(join(m, 'config.json'), 'utf8')) as Json;
    const r = edits.config(c);
    writeFileSync(join(m, 'config.json'), typeof r === 'string' ? r : JSON.stringify(r ?? c));
  }
  applyFiles(m, edits.files);
  return m;
}

const index = (dir: string, weightMap: unknown) => model(dir, { files: { 'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }) } }, 'qwen2-tiny-sharded');
const tokenizerConfig = (edit: (c: Json) => void) => {
  const c = JSON.parse(readFileSync(join(FIX, 'qwen3-tiny', 'tokenizer_config.json'), 'utf8')) as Json;
  edit(c);
  return JSON.stringify(c);
};

function tensorsOf(bytes: Uint8Array): TensorToWrite[] {
  return [...parseSafetensors(bytes).tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data.slice() }));
}

/** A copy of a fixture adapter in `<case>/adapter`: shadow_config.json edited, tensors edited. */
function adapter(dir: string, edits: { config?: (c: Json) => unknown; tensors?: (t: TensorToWrite[]) => TensorToWrite[]; files?: Edits['files'] } = {}, from = 'shadow-qwen3-tiny'): string {
  const a = join(dir, 'adapter');
  mkdirSync(a);
  for (const f of ['shadow_config.json', 'shadow_adapter.safetensors']) cpSync(join(FIX, from, f), join(a, f));
  if (edits.config) {
    const c = JSON.parse(readFileSync(join(a, 'shadow_config.json'), 'utf8')) as Json;
    const r = edits.config(c);
    writeFileSync(join(a, 'shadow_config.json'), typeof r === 'string' ? r : JSON.stringify(r ?? c));
  }
  if (edits.tensors) {
    const bytes = new Uint8Array(readFileSync(join(a, 'shadow_adapter.safetensors')));
    writeFileSync(join(a, 'shadow_adapter.safetensors'), serializeSafetensors(edits.tensors(tensorsOf(bytes)), parseSafetensors(bytes).metadata));
  }
  applyFiles(a, edits.files);
  return a;
}

/** A f32 tensor with one value replaced. */
function poison(t: TensorToWrite[], key: string, value: number): TensorToWrite[] {
  return t.map((x) => {
    if (x.name !== key) return x;
    const f = new Float32Array(x.data.slice().buffer);
    f[1] = value;
    return { ...x, data: new Uint8Array(f.buffer) };
  });
}

const BATCH = JSON.parse(readFileSync(join(FIX, 'shadow-qwen3-tiny', 'batch.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; labels: number[][]; shadow_loss_weight: number };

function batch(dir: string, edit: (b: typeof BATCH) => unknown): string {
  const b = structuredClone(BATCH);
  const r = edit(b);
  const p = join(dir, 'batch.json');
  writeFileSync(p, typeof r === 'string' ? r : JSON.stringify(r === undefined ? b : r));
  return p;
}

/** cli dump with the fixture model and adapter unless given. */
const dump = (dir: string, o: { model?: string; adapter?: string; batch?: string } = {}) => [
  'dump',
  '--model',
  o.model ?? join(FIX, 'qwen3-tiny'),
  '--adapter',
  o.adapter ?? join(FIX, 'shadow-qwen3-tiny'),
  '--batch',
  o.batch ?? join(FIX, 'shadow-qwen3-tiny', 'batch.json'),
  '--out',
  join(dir, 'dump.safetensors'),
];

const chatLine = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: `question ${i}?` }, { role: 'assistant', content: `answer ${i}.` }] });
function data(dir: string, name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
const GOOD_CHAT = Array.from({ length: 6 }, (_, i) => chatLine(i)).join('\n');
const train = (dir: string, o: { model?: string; data?: string; extra?: string[] } = {}) => ['train', '--model', o.model ?? join(FIX, 'qwen3-tiny'), '--data', o.data ?? data(dir, 'd.jsonl', GOOD_CHAT), '--out', join(dir, 'out'), '--max-steps', '1', ...(o.extra ?? [])];
const gen = (m: string, ...extra: string[]) => ['generate', m, '--prompt-ids', '1,2,3', '--max-new-tokens', '2', ...extra];

// ---------- the table ----------

interface Case {
  name: string;
  /** builds the case's files in its folder and returns the command line */
  argv: (dir: string) => string[];
  code: string;
  /** text the message must contain: the file, key or value */
  names: (string | RegExp)[];
  /** 'none': not one GPU buffer is created before it fails */
  allocates?: 'none';
}

const L = SIZE_LIMITS;

const MODELS: Case[] = [
  { name: 'config.json not JSON', argv: (d) => ['info', model(d, { config: () => '{"model_type": "qwen3",' })], code: 'E112', names: ['model: config.json is not valid JSON'], allocates: 'none' },
  { name: 'config.json a list', argv: (d) => ['info', model(d, { config: () => [1, 2] })], code: 'E112', names: ['config.json must hold a JSON object, found a list'], allocates: 'none' },
  { name: 'config.json missing', argv: (d) => ['info', model(d, { files: { 'config.json': null } })], code: 'E112', names: ['no config.json'], allocates: 'none' },
  { name: 'config.json a directory', argv: (d) => ['info', model(d, { files: { 'config.json': { dir: true } } })], code: 'E126', names: ['config.json is a directory'], allocates: 'none' },
  { name: 'num_hidden_layers 1e9', argv: (d) => gen(model(d, { config: (c) => void (c.num_hidden_layers = 1e9) })), code: 'E127', names: ["'num_hidden_layers' is 1000000000", `${L.layers}`], allocates: 'none' },
  { name: 'vocab_size 1e12', argv: (d) => gen(model(d, { config: (c) => void (c.vocab_size = 1e12) })), code: 'E127', names: ["'vocab_size' is 1000000000000", '1,048,576'], allocates: 'none' },
  { name: 'vocab_size 1e300', argv: (d) => gen(model(d, { config: (c) => void (c.vocab_size = 1e300) })), code: 'E112', names: ["'vocab_size' must be an integer", '1e+300'], allocates: 'none' },
  { name: 'hidden_size a string', argv: (d) => ['info', model(d, { config: (c) => void (c.hidden_size = '40') })], code: 'E112', names: ["'hidden_size'", '"40"'], allocates: 'none' },
  { name: 'hidden_size 1e6', argv: (d) => ['info', model(d, { config: (c) => void (c.hidden_size = 1e6) })], code: 'E127', names: ["'hidden_size' is 1000000"], allocates: 'none' },
  { name: 'num_attention_heads 0', argv: (d) => ['info', model(d, { config: (c) => void (c.num_attention_heads = 0) })], code: 'E112', names: ["'num_attention_heads'"], allocates: 'none' },
  { name: 'max_position_embeddings 1e7', argv: (d) => ['info', model(d, { config: (c) => void (c.max_position_embeddings = 1e7) })], code: 'E127', names: ["'max_position_embeddings' is 10000000"], allocates: 'none' },
  { name: 'max_position_embeddings 2.5', argv: (d) => ['info', model(d, { config: (c) => void (c.max_position_embeddings = 2.5) })], code: 'E112', names: ["'max_position_embeddings'"], allocates: 'none' },
  { name: 'rope_theta 0 (info)', argv: (d) => ['info', model(d, { config: (c) => void (c.rope_theta = 0) })], code: 'E112', names: ["'rope_theta' is 0", '0 < rope_theta'], allocates: 'none' },
  { name: 'rope_theta -5', argv: (d) => gen(model(d, { config: (c) => void (c.rope_theta = -5) })), code: 'E112', names: ["'rope_theta' is -5"], allocates: 'none' },
  { name: 'rope_parameters.rope_theta -1', argv: (d) => ['info', model(d, { config: (c) => void (c.rope_parameters = { rope_theta: -1, rope_type: 'default' }) })], code: 'E112', names: ["'rope_parameters.rope_theta' is -1"], allocates: 'none' },
  { name: 'rms_norm_eps -1', argv: (d) => gen(model(d, { config: (c) => void (c.rms_norm_eps = -1) })), code: 'E112', names: ["'rms_norm_eps' is -1"], allocates: 'none' },
  { name: 'rms_norm_eps 0', argv: (d) => ['info', model(d, { config: (c) => void (c.rms_norm_eps = 0) })], code: 'E112', names: ["'rms_norm_eps' is 0"], allocates: 'none' },
  { name: 'kv heads do not divide heads', argv: (d) => ['info', model(d, { config: (c) => void (c.num_key_value_heads = 3) })], code: 'E112', names: ['num_attention_heads 5 is not a multiple of num_key_value_heads 3'], allocates: 'none' },
  { name: 'odd head_dim', argv: (d) => ['info', model(d, { config: (c) => void (c.head_dim = 7) })], code: 'E112', names: ['the head size is 7'], allocates: 'none' },
  { name: 'qwen2 width not a multiple of heads', argv: (d) => ['info', model(d, { config: (c) => void (c.num_attention_heads = 3) }, 'qwen2-tiny')], code: 'E112', names: ['hidden_size 32 is not a multiple of num_attention_heads 3'], allocates: 'none' },
  { name: 'model_type gpt2', argv: (d) => ['info', model(d, { config: (c) => void (c.model_type = 'gpt2') })], code: 'E110', names: ['model_type "gpt2"'], allocates: 'none' },
  { name: 'hidden_act gelu', argv: (d) => ['info', model(d, { config: (c) => void (c.hidden_act = 'gelu') })], code: 'E111', names: ['model/config.json', 'hidden_act = "gelu"'], allocates: 'none' },
  {
    name: 'within the limits, too large for one binding',
    argv: (d) => gen(model(d, { config: (c) => Object.assign(c, { hidden_size: 65536, intermediate_size: 262144, num_attention_heads: 64, num_key_value_heads: 8, head_dim: 128 }) })),
    code: 'E124',
    names: ['is estimated at', 'weights', 'more than one storage binding holds'],
    allocates: 'none',
  },
  {
    name: 'within the limits, above any device (512 GiB of embeddings)',
    argv: (d) => gen(model(d, { config: (c) => Object.assign(c, { hidden_size: 65536, intermediate_size: 2, num_attention_heads: 1, num_key_value_heads: 1, head_dim: 2, vocab_size: L.vocab }) })),
    code: 'E124',
    names: [/is estimated at 5\d\d(\.\d+)? GiB/, 'any WebGPU device lends'],
    allocates: 'none',
  },
  { name: 'more layers than the checkpoint', argv: (d) => gen(model(d, { config: (c) => void (c.num_hidden_layers = 200) })), code: 'E120', names: ["first 'model.layers.3."] },
  { name: 'model.safetensors a directory (EISDIR)', argv: (d) => gen(model(d, { files: { 'model.safetensors': { dir: true } } })), code: 'E126', names: ['model.safetensors is a directory'], allocates: 'none' },
  { name: 'model.safetensors truncated', argv: (d) => gen(model(d, { files: { 'model.safetensors': readFileSync(join(FIX, 'qwen3-tiny', 'model.safetensors')).subarray(0, 5000) } })), code: 'E101', names: ['model/model.safetensors'], allocates: 'none' },
  { name: 'model.safetensors missing', argv: (d) => gen(model(d, { files: { 'model.safetensors': null } })), code: 'E120', names: ['checkpoint file model.safetensors is missing'], allocates: 'none' },
  { name: 'model argument is a file', argv: () => ['info', join(FIX, 'qwen3-tiny', 'config.json')], code: 'E602', names: ['is a file, not a model folder'], allocates: 'none' },
  { name: 'model argument is nothing', argv: () => ['info', '::not a model::'], code: 'E602', names: ["'::not a model::' is neither a folder"], allocates: 'none' },
  { name: 'model URL unreachable', argv: () => ['info', 'http://127.0.0.1:1/m/'], code: 'E123', names: ['could not fetch config.json'], allocates: 'none' },
];

const INDEXES: Case[] = [
  { name: 'index not JSON', argv: (d) => gen(model(d, { files: { 'model.safetensors.index.json': '{"weight_map": {' } }, 'qwen2-tiny-sharded')), code: 'E112', names: ['model.safetensors.index.json is not valid JSON'], allocates: 'none' },
  { name: 'index a list', argv: (d) => gen(model(d, { files: { 'model.safetensors.index.json': '[]' } }, 'qwen2-tiny-sharded')), code: 'E112', names: ['model.safetensors.index.json must hold a JSON object'], allocates: 'none' },
  { name: 'index without weight_map', argv: (d) => gen(model(d, { files: { 'model.safetensors.index.json': '{"metadata": {}}' } }, 'qwen2-tiny-sharded')), code: 'E112', names: ['model.safetensors.index.json has no weight_map'], allocates: 'none' },
  { name: 'index with an empty weight_map', argv: (d) => gen(index(d, {})), code: 'E112', names: ['empty weight_map'], allocates: 'none' },
  { name: 'weight_map value a number', argv: (d) => gen(index(d, { 'model.norm.weight': 5 })), code: 'E112', names: ['weight_map["model.norm.weight"] is 5'], allocates: 'none' },
  { name: 'weight_map value null', argv: (d) => gen(index(d, { 'model.norm.weight': null })), code: 'E112', names: ['weight_map["model.norm.weight"] is null'], allocates: 'none' },
  { name: 'weight_map names another model', argv: (d) => gen(index(d, { 'model.norm.weight': '../other-model/model.safetensors' })), code: 'E125', names: ['weight_map["model.norm.weight"] names "../other-model/model.safetensors"'], allocates: 'none' },
  { name: 'weight_map names ../../…/etc/passwd', argv: (d) => gen(index(d, { 'model.norm.weight': '../../../../../../etc/passwd' })), code: 'E125', names: ['"../../../../../../etc/passwd"', '".." segment'], allocates: 'none' },
  { name: 'weight_map names an absolute path', argv: (d) => gen(index(d, { 'model.norm.weight': join(d, 'other-model', 'model.safetensors') })), code: 'E125', names: ['an absolute path'], allocates: 'none' },
  { name: 'weight_map percent-encoded %2e%2e/', argv: (d) => gen(index(d, { 'model.norm.weight': '%2e%2e/other-model/model.safetensors' })), code: 'E125', names: ['"%2e%2e/other-model/model.safetensors"', 'percent'], allocates: 'none' },
  { name: 'weight_map backslashes ..\\', argv: (d) => gen(index(d, { 'model.norm.weight': '..\\other-model\\model.safetensors' })), code: 'E125', names: ['backslash'], allocates: 'none' },
  { name: 'weight_map another origin', argv: (d) => gen(index(d, { 'model.norm.weight': 'http://127.0.0.1:1/model.safetensors' })), code: 'E125', names: ['"http://127.0.0.1:1/model.safetensors"'], allocates: 'none' },
  { name: 'weight_map names a missing shard', argv: (d) => gen(index(d, { 'model.norm.weight': 'model-00009-of-00009.safetensors' })), code: 'E120', names: ['model-00009-of-00009.safetensors is missing'] },
];

const TOKENIZERS: Case[] = [
  { name: 'tokenizer.json not JSON', argv: (d) => ['generate', model(d, { files: { 'tokenizer.json': '{"model": ' } }), '--prompt', 'hi'], code: 'E112', names: ['tokenizer.json is not JSON'] },
  { name: 'tokenizer.json {}', argv: (d) => ['generate', model(d, { files: { 'tokenizer.json': '{}' } }), '--prompt', 'hi'], code: 'E112', names: ['tokenizer.json could not be read'] },
  { name: 'tokenizer.json a list', argv: (d) => ['generate', model(d, { files: { 'tokenizer.json': '[1]' } }), '--prompt', 'hi'], code: 'E112', names: ['tokenizer.json is not a JSON object'] },
  { name: 'tokenizer.json missing', argv: (d) => ['generate', model(d, { files: { 'tokenizer.json': null } }), '--prompt', 'hi'], code: 'E120', names: ['no tokenizer.json'] },
  { name: 'tokenizer_config.json not JSON', argv: (d) => ['generate', model(d, { files: { 'tokenizer_config.json': '{' } }), '--prompt', 'hi'], code: 'E112', names: ['tokenizer_config.json is not JSON'] },
  {
    name: 'tokenizer_class "pipeline" with a broken tokenizer.json (no pipeline is built)',
    argv: (d) => ['generate', model(d, { files: { 'tokenizer.json': '{}', 'tokenizer_config.json': tokenizerConfig((c) => void (c.tokenizer_class = 'pipeline')) } }), '--prompt', 'hi'],
    code: 'E112',
    names: ['could not be read as a PreTrainedTokenizer tokenizer'],
  },
];

const TEMPLATES: Case[] = [
  { name: 'chat template that does not parse', argv: (d) => train(d, { model: model(d, { files: { 'tokenizer_config.json': tokenizerConfig((c) => void (c.chat_template = '{% for m in messages %}{{ m.content ')) } }) }), code: 'E404', names: [/template/i] },
  { name: 'chat template that raises', argv: (d) => train(d, { model: model(d, { files: { 'tokenizer_config.json': tokenizerConfig((c) => void (c.chat_template = "{{ raise_exception('no chats here') }}")) } }) }), code: 'E405', names: ['no chats here'] },
  { name: 'chat template that never ends', argv: (d) => train(d, { model: model(d, { files: { 'tokenizer_config.json': tokenizerConfig((c) => void (c.chat_template = '{% for i in range(1000000000) %}{% for j in range(1000000000) %}x{% endfor %}{% endfor %}')) } }) }), code: 'E406', names: [/budget|limit/i] },
];

const SHADOW_CONFIG = (c: Json) => JSON.stringify(c);
const ADAPTERS: Case[] = [
  { name: 'adapter num_shadow_layers 1e9', argv: (d) => dump(d, { adapter: adapter(d, { config: (c) => void (c.num_shadow_layers = 1e9) }) }), code: 'E206', names: ['--adapter $DIR/adapter: num_shadow_layers is 1000000000', '≤ 256'], allocates: 'none' },
  { name: 'adapter with more shadow layers than its file', argv: (d) => dump(d, { adapter: adapter(d, { config: (c) => void (c.num_shadow_layers = 2) }) }), code: 'E214', names: ["'shadow_model.layers.1."], allocates: 'none' },
  { name: 'adapter tensor of the wrong shape', argv: (d) => dump(d, { adapter: adapter(d, { tensors: (t) => t.map((x) => (x.name === 'shadow_model.norm.weight' ? { ...x, shape: [20, 2] } : x)) }) }), code: 'E216', names: ["'shadow_model.norm.weight' has shape (20, 2), expected (40)"], allocates: 'none' },
  { name: 'adapter with an unexpected tensor', argv: (d) => dump(d, { adapter: adapter(d, { tensors: (t) => [...t, { name: 'evil.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }] }) }), code: 'E215', names: ["'evil.weight'"], allocates: 'none' },
  { name: 'adapter with a NaN', argv: (d) => dump(d, { adapter: adapter(d, { tensors: (t) => poison(t, 'shadow_model.norm.weight', NaN) }) }), code: 'E219', names: ["adapter tensor 'shadow_model.norm.weight' holds NaN or infinite values", 'refusing to load it'], allocates: 'none' },
  { name: 'adapter with an infinity', argv: (d) => dump(d, { adapter: adapter(d, { tensors: (t) => poison(t, 'shadow_injection_model.injection_ups', Infinity) }) }), code: 'E219', names: ["'shadow_injection_model.injection_ups'", 'refusing to load it'], allocates: 'none' },
  { name: 'adapter alpha 1e308', argv: (d) => dump(d, { adapter: adapter(d, { config: (c) => void (c.alpha = 1e308) }) }), code: 'E209', names: ['alpha is 1e+308', '|alpha| ≤ 1000'], allocates: 'none' },
  { name: 'adapter dropout 1.5', argv: (d) => dump(d, { adapter: adapter(d, { config: (c) => void (c.dropout = 1.5) }) }), code: 'E208', names: ['dropout is 1.5'], allocates: 'none' },
  { name: 'adapter injection_hidden_size 1e9', argv: (d) => dump(d, { adapter: adapter(d, { config: (c) => void (c.injection_hidden_size = 1e9) }) }), code: 'E205', names: ['injection_hidden_size is 1000000000'], allocates: 'none' },
  { name: 'adapter shadow_intermediate_size 1e12', argv: (d) => dump(d, { adapter: adapter(d, { config: (c) => void (c.shadow_intermediate_size = 1e12) }) }), code: 'E210', names: ['shadow_intermediate_size is 1000000000000'], allocates: 'none' },
  { name: 'shadow_config.json not JSON', argv: (d) => dump(d, { adapter: adapter(d, { config: () => '{"alpha": ' }) }), code: 'E201', names: ['--adapter $DIR/adapter: shadow_config.json is not valid JSON'], allocates: 'none' },
  { name: 'shadow_config.json a number', argv: (d) => dump(d, { adapter: adapter(d, { config: () => '42' }) }), code: 'E201', names: ['must hold a JSON object'], allocates: 'none' },
  { name: 'shadow_config.json missing', argv: (d) => dump(d, { adapter: adapter(d, { files: { 'shadow_config.json': null } }) }), code: 'E219', names: ['no shadow_config.json'], allocates: 'none' },
  { name: 'shadow_adapter.safetensors a directory', argv: (d) => dump(d, { adapter: adapter(d, { files: { 'shadow_adapter.safetensors': { dir: true } } }) }), code: 'E126', names: ['shadow_adapter.safetensors is a directory'], allocates: 'none' },
  { name: 'shadow_adapter.safetensors truncated', argv: (d) => dump(d, { adapter: adapter(d, { files: { 'shadow_adapter.safetensors': readFileSync(join(FIX, 'shadow-qwen3-tiny', 'shadow_adapter.safetensors')).subarray(0, 900) } }) }), code: 'E101', names: ['shadow_adapter.safetensors'], allocates: 'none' },
  { name: 'explicit-shadow adapter without its shadow model', argv: (d) => dump(d, { adapter: join(FIX, 'shadow-qwen3-tiny-explicit') }), code: 'E217', names: ['belongs to an explicit shadow model', '--shadow-model'], allocates: 'none' },
  { name: 'adapter folder missing', argv: (d) => dump(d, { adapter: join(d, 'nowhere') }), code: 'E603', names: ['--adapter', 'no such folder'], allocates: 'none' },
  { name: 'train --shadow-config with num_shadow_layers 1e9', argv: (d) => train(d, { extra: ['--shadow-config', data(d, 'sc.json', SHADOW_CONFIG({ num_shadow_layers: 1e9 }))] }), code: 'E206', names: [`--shadow-config ${'$DIR'}/sc.json`, 'num_shadow_layers is 1000000000'], allocates: 'none' },
  { name: 'train --shadow-config with alpha 1e308', argv: (d) => train(d, { extra: ['--shadow-config', data(d, 'sc.json', SHADOW_CONFIG({ alpha: 1e308 }))] }), code: 'E209', names: ['alpha is 1e+308'], allocates: 'none' },
  { name: 'train --shadow-config not JSON', argv: (d) => train(d, { extra: ['--shadow-config', data(d, 'sc.json', '{')] }), code: 'E201', names: ['sc.json', 'not valid JSON'], allocates: 'none' },
];

const BATCHES: Case[] = [
  { name: 'batch token id 5000 (vocabulary 96)', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.input_ids[1]![2] = 5000)) }), code: 'E220', names: ['batch.json: input_ids[1][2] is 5000', '0 ≤ id < 96'], allocates: 'none' },
  { name: 'batch token id -7', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.input_ids[0]![0] = -7)) }), code: 'E220', names: ['input_ids[0][0] is -7'], allocates: 'none' },
  { name: 'batch token id 1.5', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.input_ids[0]![3] = 1.5)) }), code: 'E220', names: ['input_ids[0][3] is 1.5'], allocates: 'none' },
  { name: 'batch label 5000', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.labels[0]![4] = 5000)) }), code: 'E220', names: ['labels[0][4] is 5000'], allocates: 'none' },
  { name: 'empty batch', argv: (d) => dump(d, { batch: batch(d, () => ({ input_ids: [], attention_mask: [], labels: [], shadow_loss_weight: 0.05 })) }), code: 'E220', names: ['input_ids is empty'], allocates: 'none' },
  { name: 'batch [[]]', argv: (d) => dump(d, { batch: batch(d, () => ({ input_ids: [[]], attention_mask: [[]], labels: [[]], shadow_loss_weight: 0.05 })) }), code: 'E220', names: ['input_ids[0] is empty'], allocates: 'none' },
  { name: 'batch without labels', argv: (d) => dump(d, { batch: batch(d, (b) => ({ ...b, labels: undefined })) }), code: 'E220', names: ['labels is missing'], allocates: 'none' },
  { name: 'batch without shadow_loss_weight', argv: (d) => dump(d, { batch: batch(d, (b) => ({ ...b, shadow_loss_weight: undefined })) }), code: 'E221', names: ['shadow_loss_weight is undefined'], allocates: 'none' },
  { name: 'batch shadow_loss_weight -1', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.shadow_loss_weight = -1)) }), code: 'E221', names: ['shadow_loss_weight is -1'], allocates: 'none' },
  { name: 'batch shadow_loss_weight a string', argv: (d) => dump(d, { batch: batch(d, (b) => ({ ...b, shadow_loss_weight: '0.05' })) }), code: 'E221', names: ['shadow_loss_weight is "0.05"'], allocates: 'none' },
  { name: 'batch mask row shorter than its ids', argv: (d) => dump(d, { batch: batch(d, (b) => void b.attention_mask[1]!.pop()) }), code: 'E220', names: ['attention_mask[1] has 6 entries, input_ids[1] 7'], allocates: 'none' },
  { name: 'batch rows count differ', argv: (d) => dump(d, { batch: batch(d, (b) => void b.labels.pop()) }), code: 'E220', names: ['labels has 1 rows, input_ids 2'], allocates: 'none' },
  { name: 'batch mask value 2', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.attention_mask[0]![1] = 2)) }), code: 'E220', names: ['attention_mask[0][1] is 2'], allocates: 'none' },
  { name: 'batch left-padded mask', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.attention_mask[1] = [0, 0, 1, 1, 1, 1, 1])) }), code: 'E220', names: ['attention_mask[1]'], allocates: 'none' },
  { name: 'batch labels all -100', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.labels = b.labels.map((r) => r.map(() => -100)))) }), code: 'E220', names: ['no label is supervised'], allocates: 'none' },
  { name: 'batch label on padding', argv: (d) => dump(d, { batch: batch(d, (b) => void (b.labels[1]![6] = 3)) }), code: 'E220', names: ['labels[1][6] is 3 on a padded position'], allocates: 'none' },
  { name: 'batch row longer than the positions', argv: (d) => dump(d, { batch: batch(d, (b) => ({ ...b, input_ids: [Array(600).fill(1)], attention_mask: [Array(600).fill(1)], labels: [Array(600).fill(1)] })) }), code: 'E220', names: ['input_ids[0] has 600 tokens, more than the model\'s 512 positions'], allocates: 'none' },
  { name: 'batch a list', argv: (d) => dump(d, { batch: batch(d, () => [1, 2]) }), code: 'E220', names: ['must hold a JSON object'], allocates: 'none' },
  { name: 'batch.json not JSON', argv: (d) => dump(d, { batch: batch(d, () => '{"input_ids": [[1,') }), code: 'E603', names: ['--batch', 'is not valid JSON'], allocates: 'none' },
  { name: 'batch.json missing', argv: (d) => dump(d, { batch: join(d, 'none.json') }), code: 'E603', names: ['--batch', 'no such file'], allocates: 'none' },
];

const DATASETS: Case[] = [
  { name: 'dataset empty', argv: (d) => train(d, { data: data(d, 'd.jsonl', '') }), code: 'E401', names: [/empty|no record/i] },
  { name: 'dataset not UTF-8', argv: (d) => train(d, { data: data(d, 'd.jsonl', new Uint8Array([0xff, 0xfe, 0xfd, 0x80, 0x0a])) }), code: 'E603', names: ['--data', 'is not UTF-8 text'], allocates: 'none' },
  { name: 'dataset of broken JSON lines', argv: (d) => train(d, { data: data(d, 'd.jsonl', '{"messages": [\n{"prompt": \n[1,2]\n') }), code: 'E401', names: ['line'] },
  { name: 'dataset a directory', argv: (d) => ['train', '--model', join(FIX, 'qwen3-tiny'), '--data', d, '--out', join(d, 'out')], code: 'E603', names: ['--data', 'is a directory'], allocates: 'none' },
  { name: 'dataset missing', argv: (d) => train(d, { data: join(d, 'none.jsonl') }), code: 'E603', names: ['--data', 'no such file'], allocates: 'none' },
  { name: 'dataset CSV header only', argv: (d) => train(d, { data: data(d, 'd.csv', 'prompt,completion\n') }), code: 'E401', names: [/record|row/i] },
  { name: 'dataset of chats with no assistant turn', argv: (d) => train(d, { data: data(d, 'd.jsonl', Array(5).fill('{"messages": [{"role": "user", "content": "hi"}]}').join('\n')) }), code: 'E401', names: [/assistant/] },
];

const COMMAND_LINES: Case[] = [
  { name: 'train --method lora (an unknown flag)', argv: (d) => [...train(d), '--method', 'lora'], code: 'E601', names: ['unknown flag --method', 'valid flags: --model <value>', '--shadow-config <value>'], allocates: 'none' },
  { name: 'generate --method lora', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt', 'hi', '--method', 'lora'], code: 'E601', names: ['unknown flag --method', '--prompt-ids <value>'], allocates: 'none' },
  { name: 'dump --lr 1', argv: (d) => [...dump(d), '--lr', '1'], code: 'E601', names: ['cli dump: unknown flag --lr'], allocates: 'none' },
  { name: 'a switch given a value (--json=1)', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt', 'hi', '--json=1'], code: 'E601', names: ["'--json' does not take an argument"], allocates: 'none' },
  { name: 'a flag without its value', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt'], code: 'E601', names: ['--prompt'], allocates: 'none' },
  { name: 'info with two models', argv: () => ['info', join(FIX, 'qwen3-tiny'), join(FIX, 'qwen2-tiny')], code: 'E601', names: ['unexpected argument'], allocates: 'none' },
  { name: 'no command', argv: () => [], code: 'E601', names: ['no command given'], allocates: 'none' },
  { name: 'unknown command', argv: () => ['finetune'], code: 'E601', names: ["unknown command 'finetune'"], allocates: 'none' },
  { name: 'generate without a prompt', argv: () => ['generate', join(FIX, 'qwen3-tiny')], code: 'E601', names: ['needs --prompt'], allocates: 'none' },
  { name: 'generate --prompt-ids 5000', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt-ids', '1,5000'], code: 'E602', names: ['--prompt-ids "1,5000"', 'entry 1', '0 ≤ id < 96'], allocates: 'none' },
  { name: 'generate --prompt-ids=-7', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt-ids=-7'], code: 'E602', names: ['entry 0 ("-7")'], allocates: 'none' },
  { name: 'generate --prompt-ids a,b', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt-ids', 'a,b'], code: 'E602', names: ['entry 0 ("a")'], allocates: 'none' },
  { name: 'generate --max-new-tokens 1e9', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt-ids', '1,2', '--max-new-tokens', '1000000000'], code: 'E602', names: ["exceeds the model's 512 positions"], allocates: 'none' },
  { name: 'generate --max-new-tokens 0', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt-ids', '1', '--max-new-tokens', '0'], code: 'E602', names: ['--max-new-tokens "0"'], allocates: 'none' },
  { name: 'generate --temperature=-1', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt-ids', '1', '--temperature=-1'], code: 'E602', names: ['--temperature "-1"'], allocates: 'none' },
  { name: 'generate --top-p 2', argv: () => ['generate', join(FIX, 'qwen3-tiny'), '--prompt-ids', '1', '--top-p', '2'], code: 'E602', names: ['--top-p "2"'], allocates: 'none' },
  { name: 'train --lr fast', argv: (d) => train(d, { extra: ['--lr', 'fast'] }), code: 'E301', names: ['--lr "fast"'], allocates: 'none' },
  { name: 'train --out is a file', argv: (d) => ['train', '--model', join(FIX, 'qwen3-tiny'), '--data', data(d, 'd.jsonl', GOOD_CHAT), '--out', data(d, 'taken', 'x')], code: 'E603', names: ['--out', 'exists and is not a folder'], allocates: 'none' },
  { name: 'dump --out in a missing folder', argv: (d) => [...dump(d).slice(0, -1), join(d, 'no', 'such', 'dump.safetensors')], code: 'E603', names: ['--out', 'does not exist'], allocates: 'none' },
];

const TABLE: [string, Case[]][] = [
  ['models', MODELS],
  ['shard indexes', INDEXES],
  ['tokenizers', TOKENIZERS],
  ['chat templates', TEMPLATES],
  ['adapters', ADAPTERS],
  ['batches', BATCHES],
  ['datasets', DATASETS],
  ['command lines', COMMAND_LINES],
];
const ALL = TABLE.flatMap(([, cases]) => cases);

// ---------- the runner ----------

let gpu: Gpu;
let work: string;
const timings: { name: string; ms: number }[] = [];
let created: { label: string; size: number }[] = [];

beforeAll(async () => {
  gpu = await testGpu();
  work = mkdtempSync(join(tmpdir(), 'broken-inputs-'));
  // Count every GPU buffer a case creates (the work it does), by label.
  const create = gpu.createBuffer.bind(gpu);
  gpu.createBuffer = (label: string, size: number, usage?: number) => {
    created.push({ label, size });
    return create(label, size, usage);
  };
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  const slowest = [...timings].sort((a, b) => b.ms - a.ms)[0];
  if (slowest) console.log(`broken inputs: ${timings.length} cases in-process; slowest '${slowest.name}' took ${slowest.ms.toFixed(0)} ms`);
});

const MESSAGE = /^E\d{3} [^\n]+ — [^\n]+$/;

async function runCase(c: Case): Promise<void> {
  const dir = mkdtempSync(join(work, 'case-'));
  const argv = c.argv(dir);
  const opened: { path: string; bytes: number }[] = [];
  const out: string[] = [];
  const err: string[] = [];
  created = [];
  const before = gpu.allocatedBytes;
  const t0 = performance.now();
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    acquireGpu: async () => ({ gpu, release: () => undefined }),
    onOpen: (path, bytes) => opened.push({ path, bytes }),
  });
  timings.push({ name: c.name, ms: performance.now() - t0 });
  const what = `${c.name}: ${err.join(' | ')}`;
  // Coded, one line, non-zero.
  expect(code, what).not.toBe(0);
  expect(err, what).toHaveLength(1);
  const line = err[0]!;
  expect(line, what).toMatch(MESSAGE);
  expect(line.slice(0, 4), what).toBe(c.code);
  for (const n of c.names) {
    if (typeof n === 'string') expect(line, what).toContain(n.replace('$DIR', dir));
    else expect(line, what).toMatch(n);
  }
  // Contained: files only from the case's folder and the fixtures, never the planted model beside it.
  for (const o of opened) {
    const inside = o.path.startsWith(dir + sep) || o.path.startsWith(FIX + sep);
    expect(inside, `${c.name} opened ${o.path}`).toBe(true);
    expect(o.path.startsWith(join(dir, 'other-model')), `${c.name} opened ${o.path}`).toBe(false);
  }
  // Bounded: little read, little allocated, and all of it given back.
  const read = opened.reduce((a, o) => a + o.bytes, 0);
  const allocated = created.reduce((a, b) => a + b.size, 0);
  expect(read, `${c.name}: bytes read`).toBeLessThan(4 * 2 ** 20);
  expect(allocated, `${c.name}: GPU bytes allocated`).toBeLessThan(64 * 2 ** 20);
  if (c.allocates === 'none') expect(created.map((b) => b.label), `${c.name}: allocated before failing`).toEqual([]);
  expect(gpu.allocatedBytes, `${c.name}: GPU bytes given back`).toBe(before);
  // Nothing written where a command failed.
  expect(readdirSync(dir).filter((f) => f === 'out' || f === 'dump.safetensors'), `${c.name}: wrote output`).toEqual([]);
}

describe(`${ALL.length} broken inputs through the CLI`, () => {
  it('the table covers every kind of input and is at least 60 cases', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(60);
    expect(new Set(ALL.map((c) => c.name)).size).toBe(ALL.length);
  });
  for (const [kind, cases] of TABLE) {
    it.each(cases.map((c) => [c.name, c] as const))(`${kind}: %s`, async (_name, c) => runCase(c), 60_000);
  }

  it('the safe inputs next to them still work: a pipeline tokenizer_class falls back, dump writes finite numbers', async () => {
    const dir = mkdtempSync(join(work, 'ok-'));
    const m = model(dir, { files: { 'tokenizer_config.json': tokenizerConfig((c) => void (c.tokenizer_class = 'pipeline')) } });
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(`ERR ${l}`), acquireGpu: async () => ({ gpu, release: () => undefined }) };
    const before = gpu.allocatedBytes;
    expect(await runCli(['generate', m, '--prompt', 'hello', '--max-new-tokens', '3', '--json'], io), out.join('\n')).toBe(0);
    const r = JSON.parse(out.at(-1)!) as { tokens: number[] };
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(await runCli(dump(dir), io), out.join('\n')).toBe(0);
    const f = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'dump.safetensors'))));
    for (const [name, t] of f.tensors) expect(new Float32Array(t.data.slice().buffer).every(Number.isFinite), name).toBe(true);
    expect(gpu.allocatedBytes).toBe(before);
  }, 60_000);

  it("the CLI's folder source refuses names outside its folder (E125) and reads none", async () => {
    const dir = mkdtempSync(join(work, 'dir-'));
    const m = model(dir);
    const opened: string[] = [];
    const source = dirSource(m, { onOpen: (p) => opened.push(p) });
    for (const bad of ['../other-model/config.json', `${dir}/other-model/config.json`, '%2e%2e/other-model/config.json', '..\\other-model\\config.json']) {
      await expect(source.readBytes(bad)).rejects.toThrow(/^E125 /);
    }
    expect(await source.readBytes('config.json')).not.toBeNull();
    expect(opened).toEqual([join(m, 'config.json')]);
  });
});

/** The CLI as a user runs it: the exit code and stderr of a spawned process. */
function spawnCli(args: string[]): { status: number; stderr: string } {
  try {
    execFileSync('npx', ['tsx', '--import', './tools/node/register.mjs', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return { status: 0, stderr: '' };
  } catch (e) {
    const x = e as { status?: number; stderr?: string };
    return { status: x.status ?? -1, stderr: String(x.stderr ?? '') };
  }
}

describe('spawned: the exit code and the one line on stderr', () => {
  it.each([
    ['an unknown flag exits 2 with E601', (d: string) => [...train(d), '--method', 'lora'], 2, /^E601 cli train: unknown flag --method; valid flags: /],
    ['num_hidden_layers 1e9 exits 1 with E127', (d: string) => ['info', model(d, { config: (c) => void (c.num_hidden_layers = 1e9) })], 1, /^E127 .*'num_hidden_layers' is 1000000000/],
    ['a NaN adapter exits 1 with E219', (d: string) => dump(d, { adapter: adapter(d, { tensors: (t) => poison(t, 'shadow_model.norm.weight', NaN) }) }), 1, /^E219 --adapter .*adapter: adapter tensor 'shadow_model.norm.weight' holds NaN/],
    ["a batch with token id 5000 exits 1 with E220", (d: string) => dump(d, { batch: batch(d, (b) => void (b.input_ids[1]![2] = 5000)) }), 1, /^E220 .*input_ids\[1\]\[2\] is 5000/],
  ] as const)('%s', (_name, argv, status, pattern) => {
    const dir = mkdtempSync(join(tmpdir(), 'broken-spawn-'));
    try {
      const r = spawnCli(argv(dir));
      expect(r.status, r.stderr).toBe(status);
      const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^(npm warn|Warning: )/.test(l));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(MESSAGE);
      expect(lines[0]).toMatch(pattern);
      expect(r.stderr).not.toMatch(/E699|this is a bug|\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
