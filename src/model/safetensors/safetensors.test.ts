import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f32ToBf16Bits, roundToStorage } from '../../engine/dtype';
import { isStudioError } from '../../engine/errors';
import { expectClose } from '../../engine/testing/expectClose';
import { normal, rng } from '../../engine/testing/random';
import { ModelErrorCode as E } from '../errors';
import { fromFloat32, toFloat32 } from './convert';
import { parseSafetensors, parseSafetensorsHeader } from './parse';
import type { SafetensorsDtype } from './parse';
import { serializeSafetensors } from './serialize';
import type { TensorToWrite } from './serialize';

const FIXTURES = fileURLToPath(new URL('../../../tools/fixtures/out/', import.meta.url));
const readFixture = (rel: string) => new Uint8Array(readFileSync(FIXTURES + rel));
/** Byte equality without vitest's element-wise deep diff (slow on arrays of this size). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

// Decoding is bit-exact (f16/bf16 → f32 loses nothing), so comparisons of decoded values use zero tolerance.
const EXACT = { atol: 0, rtol: 0 };
const CODES: string[] = [E.safetensorsTruncated, E.safetensorsHeader, E.safetensorsOffsets, E.safetensorsDtype, E.safetensorsMetadata];

/** A file with the given header text (unpadded) followed by `dataBytes` zero bytes. */
function rawFile(header: string, dataBytes = 0): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  return out;
}

function expectCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (!isStudioError(thrown, code)) throw new Error(`expected StudioError ${code}, got ${thrown === null ? 'no error' : String(thrown)}`);
  for (const m of mentions) expect(thrown.message).toContain(m);
  expect(thrown.hint.length).toBeGreaterThan(0);
}

function sampleTensors(): { tensors: TensorToWrite[]; values: Map<string, Float32Array> } {
  const specs: [string, SafetensorsDtype, number[]][] = [
    ['model.layers.10.w', 'F32', [3, 5]],
    ['model.layers.2.w', 'BF16', [7]],
    ['0', 'F16', [2, 3]], // integer-like name: must not jump to the front of the JSON
    ['scalar', 'F32', []],
    ['empty', 'BF16', [0, 4]],
    ['odd', 'F16', [1]],
  ];
  const tensors: TensorToWrite[] = [];
  const values = new Map<string, Float32Array>();
  specs.forEach(([name, dtype, shape], i) => {
    const v = normal(shape.reduce((a, d) => a * d, 1), 10 + i, 3);
    tensors.push({ name, dtype, shape, data: fromFloat32(v, dtype) });
    values.set(name, v);
  });
  return { tensors, values };
}

describe('safetensors round trip', () => {
  it('parses what it serializes: dtypes, shapes, bytes, metadata, alignment', () => {
    const { tensors, values } = sampleTensors();
    const meta = { format: 'pt', 'über': 'naïve ✓' };
    const file = serializeSafetensors(tensors, meta);
    const headerLength = new DataView(file.buffer).getUint32(0, true);
    expect(headerLength % 8).toBe(0);
    const parsed = parseSafetensors(file, 'roundtrip.safetensors');
    expect(parsed.metadata).toEqual(meta);
    expect([...parsed.tensors.keys()].sort()).toEqual(tensors.map((t) => t.name).sort());
    // data order: F32, BF16, F16, then by name; the integer-like name '0' stays in its place
    const header = new TextDecoder().decode(file.subarray(8, 8 + headerLength));
    const at = (n: string) => header.indexOf(`"${n}":`);
    const order = ['__metadata__', 'model.layers.10.w', 'scalar', 'empty', 'model.layers.2.w', '0', 'odd'].map(at);
    expect(order.every((p, i) => p >= 0 && (i === 0 || p > order[i - 1]!))).toBe(true);
    for (const t of tensors) {
      const got = parsed.tensors.get(t.name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(sameBytes(got.data, t.data)).toBe(true);
      const storage = t.dtype === 'F32' ? 'f32' : t.dtype === 'BF16' ? 'bf16x2' : 'f16';
      expectClose(toFloat32(got.data, got.dtype), roundToStorage(values.get(t.name)!, storage), EXACT, t.name);
    }
    // serializing the parsed file again gives identical bytes
    const again = serializeSafetensors([...parsed.tensors].map(([name, t]) => ({ name, ...t })), parsed.metadata);
    expect(sameBytes(again, file)).toBe(true);
  });

  it('writes no __metadata__ without metadata and handles an empty file', () => {
    const file = serializeSafetensors([]);
    const parsed = parseSafetensors(file);
    expect(parsed.tensors.size).toBe(0);
    expect(parsed.metadata).toEqual({});
    expect(new TextDecoder().decode(file.subarray(8)).trim()).toBe('{}');
  });

  it('rejects bad serializer input with coded errors', () => {
    const t: TensorToWrite = { name: 'a', dtype: 'F32', shape: [2], data: new Uint8Array(8) };
    expectCode(() => serializeSafetensors([t, t]), E.safetensorsHeader, "'a'");
    expectCode(() => serializeSafetensors([{ ...t, name: '__metadata__' }]), E.safetensorsHeader);
    expectCode(() => serializeSafetensors([{ ...t, data: new Uint8Array(7) }]), E.safetensorsOffsets, "'a'", '7 bytes', 'expected 8');
    expectCode(() => serializeSafetensors([{ ...t, dtype: 'I64' as SafetensorsDtype }]), E.safetensorsDtype, 'I64');
    expectCode(() => serializeSafetensors([t], { n: 1 as unknown as string }), E.safetensorsMetadata, "'n'");
  });
});

describe('safetensors conversions', () => {
  it('decodes unaligned views and rounds to nearest even like dtype.ts', () => {
    const v = new Float32Array([1, -2.5, 3.0000001, 1e-30, -0, 65504, 70000, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
    for (const dtype of ['F32', 'BF16', 'F16'] as const) {
      const bytes = fromFloat32(v, dtype);
      const shifted = new Uint8Array(bytes.length + 1);
      shifted.set(bytes, 1); // byteOffset 1: not aligned for any element type
      const storage = dtype === 'F32' ? 'f32' : dtype === 'BF16' ? 'bf16x2' : 'f16';
      expectClose(toFloat32(shifted.subarray(1), dtype), roundToStorage(v, storage), EXACT, dtype);
    }
    const bf = new Uint16Array(fromFloat32(v, 'BF16').buffer);
    v.forEach((x, i) => expect(bf[i]).toBe(f32ToBf16Bits(x)));
    // ties go to the even mantissa: 1+2⁻⁸ down to 1, 1+3·2⁻⁸ up to 1+2⁻⁶
    expect(bf16BitsToF32(bf[7]!)).toBe(1);
    expect(bf16BitsToF32(bf[8]!)).toBe(1 + 2 ** -6);
    expectCode(() => toFloat32(new Uint8Array(6), 'F32'), E.safetensorsOffsets, '6 bytes');
  });
});

describe('safetensors errors', () => {
  const good = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

  it('truncated file and header running past the end → E101', () => {
    expectCode(() => parseSafetensors(new Uint8Array(0)), E.safetensorsTruncated, '0 bytes');
    expectCode(() => parseSafetensors(new Uint8Array(7)), E.safetensorsTruncated, '7 bytes');
    const f = rawFile(good, 8);
    expectCode(() => parseSafetensors(f.subarray(0, 20), 'model.safetensors'), E.safetensorsTruncated, 'model.safetensors', 'past the end');
  });

  it('tensor ending past the data section → E101 naming tensor and offsets', () => {
    expectCode(() => parseSafetensors(rawFile(good, 4)), E.safetensorsTruncated, "'a'", 'offset 8', '4-byte');
  });

  it('huge header length → E102', () => {
    const f = rawFile('{}');
    new DataView(f.buffer).setUint32(4, 1, true); // 2^32 + 2
    expectCode(() => parseSafetensors(f), E.safetensorsHeader, '4294967298');
    new DataView(f.buffer).setUint32(4, 0, true);
    new DataView(f.buffer).setUint32(0, 100_000_000, true);
    expectCode(() => parseSafetensors(f), E.safetensorsHeader, '100000000');
  });

  it('bad JSON, bad UTF-8, non-object header → E102', () => {
    expectCode(() => parseSafetensors(rawFile('{"a": ')), E.safetensorsHeader, 'JSON');
    const f = rawFile('{"ab":1}');
    f[10] = 0xff;
    expectCode(() => parseSafetensors(f), E.safetensorsHeader, 'UTF-8');
    expectCode(() => parseSafetensors(rawFile('[1,2]')), E.safetensorsHeader, 'not an object');
    expectCode(() => parseSafetensors(rawFile('null')), E.safetensorsHeader, 'not an object');
  });

  it('entries missing or mistyping dtype / shape / data_offsets → E102 naming the tensor', () => {
    expectCode(() => parseSafetensors(rawFile('{"w":{"shape":[2],"data_offsets":[0,8]}}', 8)), E.safetensorsHeader, "'w'", 'dtype');
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"F32","data_offsets":[0,8]}}', 8)), E.safetensorsHeader, "'w'", 'shape');
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', 8)), E.safetensorsHeader, '[-2]');
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"F32","shape":[2]}}', 8)), E.safetensorsHeader, 'data_offsets');
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', 8)), E.safetensorsHeader, '[0]');
    expectCode(() => parseSafetensors(rawFile('{"w":3}', 8)), E.safetensorsHeader, "'w'");
  });

  it('unsupported dtype → E104 naming the tensor and the dtype', () => {
    expectCode(() => parseSafetensors(rawFile('{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', 8)), E.safetensorsDtype, "tensor 'x' has dtype I64; supported: F32, F16, BF16");
    expectCode(() => parseSafetensors(rawFile('{"x":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}', 8)), E.safetensorsDtype, 'F8_E4M3');
  });

  it('bad offsets, wrong byte length, overlap → E103', () => {
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', 8)), E.safetensorsOffsets, '[8, 0]');
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8.5]}}', 9)), E.safetensorsOffsets, '0.5');
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}', 12)), E.safetensorsOffsets, "'w'", '12 bytes', 'expected 8');
    expectCode(() => parseSafetensors(rawFile('{"w":{"dtype":"BF16","shape":[1000000000,1000000000],"data_offsets":[0,8]}}', 8)), E.safetensorsOffsets, "'w'");
    const overlap = '{"p":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"q":{"dtype":"F16","shape":[2],"data_offsets":[6,10]}}';
    expectCode(() => parseSafetensors(rawFile(overlap, 10)), E.safetensorsOffsets, "'p' [0, 8]", "'q' [6, 10]", 'overlap');
  });

  it('non-string metadata → E105', () => {
    expectCode(() => parseSafetensors(rawFile('{"__metadata__":{"step":3}}')), E.safetensorsMetadata, "'step'", 'number');
    expectCode(() => parseSafetensors(rawFile('{"__metadata__":["a"]}')), E.safetensorsMetadata, 'array');
    expectCode(() => parseSafetensors(rawFile('{"__metadata__":"x"}')), E.safetensorsMetadata, 'string');
  });

  it('every truncation of a valid file gives a coded error, never a crash', () => {
    const file = serializeSafetensors(sampleTensors().tensors, { format: 'pt' });
    for (let len = 0; len < file.length; len++) {
      const cut = file.slice(0, len);
      // the last tensor in data order ('odd') is not empty, so every shorter length must fail
      let error: unknown = null;
      try {
        parseSafetensors(cut);
      } catch (e) {
        error = e;
      }
      if (!isStudioError(error) || !CODES.includes(error.code)) throw new Error(`length ${len}: ${String(error)}`);
    }
  });

  it('random byte corruption of the header either parses or gives a coded error', () => {
    const file = serializeSafetensors(sampleTensors().tensors, { format: 'pt' });
    const headerEnd = 8 + new DataView(file.buffer).getUint32(0, true);
    const r = rng(99);
    let coded = 0;
    for (let i = 0; i < 400; i++) {
      const f = file.slice();
      for (let k = 0; k < 1 + Math.floor(r() * 3); k++) f[Math.floor(r() * headerEnd)] = Math.floor(r() * 256);
      try {
        parseSafetensors(f);
      } catch (e) {
        if (!isStudioError(e) || !CODES.includes(e.code)) throw new Error(`case ${i}: ${String(e)}`);
        coded++;
      }
    }
    expect(coded).toBeGreaterThan(100); // the corruption does break most files
  });
});

describe('streaming header', () => {
  it('asks for 8 bytes, then the header, then returns the same entries as a full parse', () => {
    const file = serializeSafetensors(sampleTensors().tensors, { format: 'pt' });
    const full = parseSafetensors(file);
    const dataStart = 8 + new DataView(file.buffer).getUint32(0, true);
    for (const len of [0, 5, 7]) expect(parseSafetensorsHeader(file.subarray(0, len))).toEqual({ complete: false, bytesNeeded: 8 });
    for (const len of [8, 9, dataStart - 1]) expect(parseSafetensorsHeader(file.subarray(0, len))).toEqual({ complete: false, bytesNeeded: dataStart });
    const probe = parseSafetensorsHeader(file.subarray(0, dataStart), file.length);
    if (!probe.complete) throw new Error('header should be complete');
    expect(probe.dataStart).toBe(dataStart);
    expect(probe.metadata).toEqual({ format: 'pt' });
    for (const [name, t] of full.tensors) {
      const e = probe.entries.get(name)!;
      expect([e.dtype, e.shape]).toEqual([t.dtype, t.shape]);
      expect(sameBytes(file.subarray(dataStart + e.dataOffsets[0], dataStart + e.dataOffsets[1]), t.data)).toBe(true);
    }
  });

  it('checks offsets against a known file length, and the header against it early', () => {
    const file = serializeSafetensors(sampleTensors().tensors);
    const dataStart = 8 + new DataView(file.buffer).getUint32(0, true);
    expect(parseSafetensorsHeader(file.subarray(0, dataStart)).complete).toBe(true); // length unknown: no check
    expectCode(() => parseSafetensorsHeader(file.subarray(0, dataStart), file.length - 1), E.safetensorsTruncated, 'past the');
    expectCode(() => parseSafetensorsHeader(file.subarray(0, 8), dataStart - 1), E.safetensorsTruncated, 'past the end of the file');
    expectCode(() => parseSafetensorsHeader(file.subarray(0, 3), 3), E.safetensorsTruncated, '3 bytes');
  });
});

describe('files written by Python (tools/fixtures)', () => {
  it('decodes the mixed-dtype sample exactly and re-serializes it byte for byte', () => {
    const bytes = readFixture('safetensors-sample/sample.safetensors');
    const want = JSON.parse(readFileSync(FIXTURES + 'safetensors-sample/sample.json', 'utf8')) as {
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: SafetensorsDtype; shape: number[]; values: number[] }>;
    };
    const parsed = parseSafetensors(bytes, 'sample.safetensors');
    expect(parsed.metadata).toEqual(want.metadata);
    expect([...parsed.tensors.keys()].sort()).toEqual(Object.keys(want.tensors).sort());
    for (const [name, w] of Object.entries(want.tensors)) {
      const t = parsed.tensors.get(name)!;
      expect([t.dtype, t.shape]).toEqual([w.dtype, w.shape]);
      expectClose(toFloat32(t.data, t.dtype), w.values, EXACT, name);
    }
    const again = serializeSafetensors([...parsed.tensors].map(([name, t]) => ({ name, ...t })), parsed.metadata);
    expect(sameBytes(again, bytes)).toBe(true);
  });

  it('bf16 checkpoint equals the f32 checkpoint rounded to nearest even', () => {
    const f32 = parseSafetensors(readFixture('qwen3-tiny/model.safetensors'), 'qwen3-tiny/model.safetensors');
    const bf16 = parseSafetensors(readFixture('qwen3-tiny-bf16/model.safetensors'), 'qwen3-tiny-bf16/model.safetensors');
    expect([...bf16.tensors.keys()].sort()).toEqual([...f32.tensors.keys()].sort());
    expect(f32.tensors.get('model.layers.0.self_attn.q_norm.weight')?.shape).toEqual([8]);
    for (const [name, t] of bf16.tensors) {
      expect(t.dtype).toBe('BF16');
      const ref = f32.tensors.get(name)!;
      expectClose(toFloat32(t.data, 'BF16'), roundToStorage(toFloat32(ref.data, ref.dtype), 'bf16x2'), EXACT, name);
    }
  });

  it('sharded checkpoint: index weight_map covers both shards and matches the single file', () => {
    const single = parseSafetensors(readFixture('qwen2-tiny/model.safetensors'));
    const index = JSON.parse(readFileSync(FIXTURES + 'qwen2-tiny-sharded/model.safetensors.index.json', 'utf8')) as { weight_map: Record<string, string> };
    const shards = new Map<string, ReturnType<typeof parseSafetensors>>();
    for (const file of new Set(Object.values(index.weight_map))) shards.set(file, parseSafetensors(readFixture(`qwen2-tiny-sharded/${file}`), file));
    expect(shards.size).toBe(2);
    expect(Object.keys(index.weight_map).sort()).toEqual([...single.tensors.keys()].sort());
    for (const [name, file] of Object.entries(index.weight_map)) {
      expect(sameBytes(shards.get(file)!.tensors.get(name)!.data, single.tensors.get(name)!.data), name).toBe(true);
    }
  });
});
