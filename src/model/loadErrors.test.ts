/**
 * Damaged and unsupported checkpoints through the real loader: each must end in the right coded
 * error naming the tensor, key or file — never a crash, a hang or a half-loaded model.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isStudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import { ModelErrorCode } from './errors';
import { loadCausalLM } from './load';
import { parseSafetensors } from './safetensors/parse';
import type { TensorToWrite } from './safetensors/serialize';
import { serializeSafetensors } from './safetensors/serialize';
import type { ModelSource } from './sources/source';
import { FIXTURES_DIR } from './testing/fixtures';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

/** Every file of a fixture folder, in memory, to be corrupted per test. */
function fixtureFiles(name: string): Map<string, Uint8Array> {
  const dir = join(FIXTURES_DIR, name);
  return new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
}

function mapSource(id: string, files: Map<string, Uint8Array>): ModelSource {
  return { id, revision: null, baseUrl: null, readBytes: async (path) => files.get(path) ?? null };
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const json = (files: Map<string, Uint8Array>, path: string) => JSON.parse(new TextDecoder().decode(files.get(path)!)) as Record<string, unknown>;

/** The tensors of a safetensors file, editable, for serializeSafetensors. */
function tensorsOf(bytes: Uint8Array): TensorToWrite[] {
  return [...parseSafetensors(bytes).tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
}

/** Rewrites the JSON header by hand (for what serializeSafetensors refuses to write), keeping the data section. */
function rewriteHeader(bytes: Uint8Array, edit: (header: Record<string, { dtype: string; shape: number[] }>) => void): Uint8Array {
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[] }>;
  edit(header);
  const text = utf8(JSON.stringify(header));
  const padded = Math.ceil(text.length / 8) * 8;
  const data = bytes.subarray(8 + n);
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setUint32(0, padded, true);
  out.set(text, 8);
  out.set(data, 8 + padded);
  return out;
}

/** Loads and expects exactly this code, with every `names` in the message. */
async function expectLoadError(files: Map<string, Uint8Array>, code: string, names: string[]): Promise<string> {
  let error: unknown = null;
  try {
    await loadCausalLM(gpu, mapSource('fake/repo', files));
  } catch (e) {
    error = e;
  }
  if (!isStudioError(error)) throw new Error(`expected StudioError ${code}, got ${error === null ? 'a loaded model' : String(error)}`);
  expect(error.code, error.message).toBe(code);
  for (const n of names) expect(error.message).toContain(n);
  return error.message;
}

const Q = 'model.safetensors';

describe('damaged safetensors files', () => {
  it('truncated model.safetensors: E101 naming the file and the tensor that runs past the end', async () => {
    const files = fixtureFiles('qwen3-tiny');
    const bytes = files.get(Q)!;
    files.set(Q, bytes.subarray(0, bytes.length - 100));
    const msg = await expectLoadError(files, ModelErrorCode.safetensorsTruncated, ['fake/repo/model.safetensors', 'past the']);
    expect(msg).toMatch(/tensor '[\w.]+' ends at data offset \d+/);
  });

  it('header length past the end of the file: E101', async () => {
    const files = fixtureFiles('qwen3-tiny');
    const bytes = files.get(Q)!.slice();
    new DataView(bytes.buffer).setUint32(0, bytes.length, true);
    files.set(Q, bytes);
    await expectLoadError(files, ModelErrorCode.safetensorsTruncated, ['model.safetensors', `header length ${bytes.length} runs past the end`]);
  });

  it('unknown dtype I64: E104 naming the tensor and the dtype', async () => {
    const files = fixtureFiles('qwen3-tiny');
    // model.norm.weight is F32 [40] = 160 bytes; as I64 [20] the byte span stays consistent.
    files.set(Q, rewriteHeader(files.get(Q)!, (h) => (h['model.norm.weight'] = { ...h['model.norm.weight']!, dtype: 'I64', shape: [20] })));
    await expectLoadError(files, ModelErrorCode.safetensorsDtype, ["'model.norm.weight'", 'I64', 'F32, F16, BF16']);
  });
});

describe('checkpoint against config.json', () => {
  it('a weight with the wrong shape: E121 with both shapes', async () => {
    const files = fixtureFiles('qwen3-tiny');
    const name = 'model.layers.1.self_attn.q_proj.weight';
    const tensors = tensorsOf(files.get(Q)!).map((t) => (t.name === name ? { ...t, shape: [20, 80] } : t));
    files.set(Q, serializeSafetensors(tensors));
    await expectLoadError(files, ModelErrorCode.weightShape, [`'${name}'`, '[20, 80]', 'expected [40, 40]']);
  });

  it('a missing weight: E120 naming it', async () => {
    const files = fixtureFiles('qwen3-tiny');
    const name = 'model.layers.2.mlp.down_proj.weight';
    files.set(Q, serializeSafetensors(tensorsOf(files.get(Q)!).filter((t) => t.name !== name)));
    await expectLoadError(files, ModelErrorCode.missingWeight, ['1 weight(s) missing', `'${name}'`]);
  });

  it('config.json with more layers than the checkpoint: E120 naming the first weight of the extra layer', async () => {
    const files = fixtureFiles('qwen3-tiny');
    files.set('config.json', utf8(JSON.stringify({ ...json(files, 'config.json'), num_hidden_layers: 4 })));
    await expectLoadError(files, ModelErrorCode.missingWeight, ["'model.layers.3."]);
  });

  it('an unexpected extra tensor: E122 naming it', async () => {
    const files = fixtureFiles('qwen3-tiny');
    const extra = 'model.layers.3.input_layernorm.weight';
    files.set(Q, serializeSafetensors([...tensorsOf(files.get(Q)!), { name: extra, dtype: 'F32', shape: [40], data: new Uint8Array(160) }]));
    await expectLoadError(files, ModelErrorCode.unexpectedWeight, [`'${extra}'`, 'qwen3 model with 3 layers']);
  });

  it('a tied checkpoint that still stores lm_head.weight loads (the copy is ignored)', async () => {
    const files = fixtureFiles('qwen2-tiny');
    expect(json(files, 'config.json').tie_word_embeddings).toBe(true);
    const tensors = tensorsOf(files.get(Q)!);
    const embed = tensors.find((t) => t.name === 'model.embed_tokens.weight')!;
    files.set(Q, serializeSafetensors([...tensors, { ...embed, name: 'lm_head.weight' }]));
    const model = await loadCausalLM(gpu, mapSource('tied', files));
    expect(model.head).toBe(model.embed);
  });
});

describe('configs', () => {
  it('missing config.json: E112 naming the file', async () => {
    const files = fixtureFiles('qwen3-tiny');
    files.delete('config.json');
    await expectLoadError(files, ModelErrorCode.badConfig, ['fake/repo', 'config.json']);
  });

  it('config.json that is not JSON: E112', async () => {
    const files = fixtureFiles('qwen3-tiny');
    files.set('config.json', utf8('{"model_type": "qwen3",'));
    await expectLoadError(files, ModelErrorCode.badConfig, ['config.json is not valid JSON']);
  });

  it('unknown model_type "mamba": E110 listing the supported types', async () => {
    const files = fixtureFiles('qwen3-tiny');
    files.set('config.json', utf8(JSON.stringify({ ...json(files, 'config.json'), model_type: 'mamba' })));
    await expectLoadError(files, ModelErrorCode.unknownModelType, ['"mamba"', 'qwen3 (Qwen3', 'qwen2 (Qwen2', 'llama (Llama']);
  });

  it('rope_scaling of type "yarn" on llama: E111 naming the option and the value', async () => {
    const files = fixtureFiles('llama-tiny');
    const cfg = json(files, 'config.json');
    files.set('config.json', utf8(JSON.stringify({ ...cfg, rope_scaling: { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 512 } })));
    await expectLoadError(files, ModelErrorCode.unsupportedOption, ['llama', 'rope_scaling.rope_type = "yarn"', '"llama3"']);
  });

  it('use_sliding_window true on qwen2: E111 naming the option', async () => {
    const files = fixtureFiles('qwen2-tiny');
    files.set('config.json', utf8(JSON.stringify({ ...json(files, 'config.json'), use_sliding_window: true })));
    await expectLoadError(files, ModelErrorCode.unsupportedOption, ['qwen2', 'use_sliding_window = true']);
  });
});

describe('sharded checkpoints', () => {
  it('index.json pointing to a missing shard: E120 naming the shard', async () => {
    const files = fixtureFiles('qwen2-tiny-sharded');
    const shard = 'model-00002-of-00002.safetensors';
    expect(Object.values(json(files, 'model.safetensors.index.json').weight_map as Record<string, string>)).toContain(shard);
    files.delete(shard);
    await expectLoadError(files, ModelErrorCode.missingWeight, [`checkpoint file ${shard} is missing`]);
  });

  it('index.json without a weight_map: E112', async () => {
    const files = fixtureFiles('qwen2-tiny-sharded');
    files.set('model.safetensors.index.json', utf8(JSON.stringify({ metadata: { total_size: 1 } })));
    await expectLoadError(files, ModelErrorCode.badConfig, ['model.safetensors.index.json has no weight_map']);
  });
});
