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

describe('strict rules (issue 12): each reported defect', () => {
  const good = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const lengthField = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(0, true);
  const setLength = (f: Uint8Array, n: number) => new DataView(f.buffer, f.byteOffset).setUint32(0, n, true);

  it('1. a header length one byte short (JSON still parses thanks to the padding) is refused', () => {
    const file = serializeSafetensors(sampleTensors().tensors, { format: 'pt' });
    const n = lengthField(file);
    expect(file[8 + n - 1]).toBe(0x20); // padding, so the shortened header is still valid JSON
    const short = file.slice();
    setLength(short, n - 1);
    expectCode(() => parseSafetensors(short, 'short.safetensors'), E.safetensorsOffsets, 'short.safetensors', '1 trailing bytes', 'header length');
    // the streaming reader with a known length sees it as soon as the header is in
    expectCode(() => parseSafetensorsHeader(short.subarray(0, 8 + n - 1), short.length, 'short.safetensors'), E.safetensorsOffsets, 'trailing');
    const long = file.slice();
    setLength(long, n + 1); // one byte long: the first data byte joins the header
    expectCode(() => parseSafetensors(long), E.safetensorsHeader, 'header (bytes 8..');
  });

  it('2. deeply nested JSON gives a coded error with a bounded message, not a RangeError', () => {
    const deep = 100_000;
    const cases = [
      `{"a":{"dtype":"F32","shape":${'['.repeat(deep)}2${']'.repeat(deep)},"data_offsets":[0,8]}}`,
      `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":${'{"k":'.repeat(deep)}1${'}'.repeat(deep)}}}`,
      `${'['.repeat(deep)}${']'.repeat(deep)}`,
      `{"a":${'['.repeat(deep)}`, // unterminated as well
    ];
    for (const header of cases) {
      let error: unknown = null;
      try {
        parseSafetensors(rawFile(header, 8), 'deep.safetensors');
      } catch (e) {
        error = e;
      }
      if (!isStudioError(error, E.safetensorsHeader)) throw new Error(`expected E102, got ${String(error)}`);
      expect(error.message).toContain('deep.safetensors');
      expect(error.message).toContain('more than 64 deep');
      expect(error.message.length).toBeLessThan(400);
    }
    // nesting within the limit is parsed, and messages about it stay short
    const shape = `${'['.repeat(60)}2${']'.repeat(60)}`;
    expectCode(() => parseSafetensors(rawFile(`{"a":{"dtype":"F32","shape":${shape},"data_offsets":[0,8]}}`, 8)), E.safetensorsHeader, "'a'", 'shape [[[…]]]');
    const extra = `${'{"k":'.repeat(61)}1${'}'.repeat(61)}`; // 2 + 61 + 1 = 64 levels with the array below
    expect(parseSafetensors(rawFile(`{"a":{"dtype":"F32","shape":[2],"x":[${extra}],"data_offsets":[0,8]}}`, 8)).tensors.get('a')?.shape).toEqual([2]);
  });

  it('3. a repeated tensor name, entry field, "__metadata__" or metadata key is refused', () => {
    const entry = (b: number) => `{"dtype":"F32","shape":[2],"data_offsets":[${b},${b + 8}]}`;
    expectCode(() => parseSafetensors(rawFile(`{"a":${entry(0)},"a":${entry(8)}}`, 16), 'dup.safetensors'), E.safetensorsHeader, 'dup.safetensors', "tensor 'a' appears twice");
    expectCode(() => parseSafetensors(rawFile(`{"a":${entry(0)},"\\u0061":${entry(8)}}`, 16)), E.safetensorsHeader, "tensor 'a' appears twice"); // same name, escaped
    expectCode(() => parseSafetensors(rawFile('{"a":{"dtype":"F16","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8)), E.safetensorsHeader, "tensor 'a'", "field 'dtype' twice");
    expectCode(() => parseSafetensors(rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4],"data_offsets":[0,8]}}', 8)), E.safetensorsHeader, "field 'data_offsets' twice");
    expectCode(() => parseSafetensors(rawFile(`{"__metadata__":{},"a":${entry(0)},"__metadata__":{"x":"y"}}`, 8)), E.safetensorsMetadata, '"__metadata__" appears twice');
    expectCode(() => parseSafetensors(rawFile('{"__metadata__":{"format":"pt","format":"np"}}')), E.safetensorsMetadata, "key 'format' twice");
  });

  it('4. bytes after the last tensor are refused, with or without tensors', () => {
    expectCode(() => parseSafetensors(rawFile(good, 9), 'tail.safetensors'), E.safetensorsOffsets, 'tail.safetensors', "'a' [0, 8] ends at 8", '9 bytes', '1 trailing bytes');
    expectCode(() => parseSafetensors(rawFile('{}', 3)), E.safetensorsOffsets, 'no tensors', '3 trailing bytes');
    const file = serializeSafetensors(sampleTensors().tensors);
    const longer = new Uint8Array(file.length + 5);
    longer.set(file);
    expectCode(() => parseSafetensors(longer), E.safetensorsOffsets, '5 trailing bytes');
  });

  it('5. a header starting with a UTF-8 byte-order mark is refused', () => {
    expectCode(() => parseSafetensors(rawFile(`\uFEFF${good}`, 8), 'bom.safetensors'), E.safetensorsHeader, 'bom.safetensors', 'byte-order mark');
    // a BOM-like character inside a string is just a character
    expect(parseSafetensors(rawFile('{"__metadata__":{"k":"\uFEFF"}}')).metadata.k).toBe('\uFEFF');
  });
});

describe('strict rules (issue 12): layout, numbers and strings', () => {
  it('gaps before or between tensors are refused, also while streaming without a length', () => {
    const gap = '{"p":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"q":{"dtype":"F16","shape":[2],"data_offsets":[10,14]}}';
    expectCode(() => parseSafetensors(rawFile(gap, 14), 'gap.safetensors'), E.safetensorsOffsets, 'gap.safetensors', 'data bytes 8..10', "'p' [0, 8]", "'q' [10, 14]", 'no tensor');
    expectCode(() => parseSafetensorsHeader(rawFile(gap)), E.safetensorsOffsets, 'data bytes 8..10');
    const late = '{"q":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}';
    expectCode(() => parseSafetensorsHeader(rawFile(late)), E.safetensorsOffsets, 'data bytes 0..4', "before the first tensor 'q' [4, 8]");
    // an empty tensor must sit on a boundary too (the reference checks begin == previous end for every tensor)
    const inside = '{"p":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}';
    expectCode(() => parseSafetensors(rawFile(inside, 8)), E.safetensorsOffsets, "'z' [4, 4]", 'overlap');
    const atEnd = '{"z":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"p":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect([...parseSafetensors(rawFile(atEnd, 8)).tensors.keys()]).toEqual(['z', 'p']); // header order, any data order
  });

  it('shapes and offsets must be plain integers; the size product may not overflow', () => {
    const entry = (shape: string, offsets: string) => `{"w":{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}}`;
    for (const dim of ['2.0', '2e0', '-0', '"2"', 'null']) expectCode(() => parseSafetensors(rawFile(entry(`[${dim}]`, '[0,8]'), 8)), E.safetensorsHeader, "'w'", `[${dim}]`);
    expectCode(() => parseSafetensors(rawFile(entry('[02]', '[0,8]'), 8)), E.safetensorsHeader, 'not valid JSON'); // leading zeros are not JSON
    for (const end of ['8.0', '8e0']) expectCode(() => parseSafetensors(rawFile(entry('[2]', `[0,${end}]`), 8)), E.safetensorsOffsets, "'w'", `[0, ${end}]`);
    expectCode(() => parseSafetensors(rawFile(entry('[2]', '[0,9007199254740993]'), 8)), E.safetensorsOffsets, '9007199254740993');
    // 2^31 · 2^31 · 0 elements: the running product passes 2^53 before the 0 (the reference overflows there too)
    expectCode(() => parseSafetensors(rawFile(entry('[2147483648,2147483648,0]', '[0,0]'))), E.safetensorsOffsets, 'more than 9007199254740991 bytes');
    expect(parseSafetensors(rawFile(entry('[0,2147483648,2147483648]', '[0,0]'))).tensors.get('w')?.shape).toEqual([0, 2147483648, 2147483648]);
  });

  it('strings: lone surrogate escapes and raw control characters are refused; names keep their order', () => {
    expectCode(() => parseSafetensors(rawFile('{"\\ud800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')), E.safetensorsHeader, 'surrogate');
    expectCode(() => parseSafetensors(rawFile('{"__metadata__":{"k":"a\\udc00"}}')), E.safetensorsHeader, 'surrogate');
    expectCode(() => parseSafetensors(rawFile('{"__metadata__":{"k":"a\tb"}}')), E.safetensorsHeader, 'control character'); // a raw tab
    const parsed = parseSafetensors(rawFile('{"__metadata__":{"__proto__":"x"},"b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"\\ud83d\\ude00":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'));
    expect([...parsed.tensors.keys()]).toEqual(['b', '0', '😀']);
    expect(Object.keys(parsed.metadata)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parsed.metadata)).toBe(Object.prototype);
  });

  it('fields other than dtype, shape and data_offsets are ignored, as by the reference reader', () => {
    const f = rawFile('{"w":{"note":{"any":[1.5,true,null]},"dtype":"F16","shape":[1],"data_offsets":[0,2]}}', 2);
    expect(parseSafetensors(f).tensors.get('w')?.shape).toEqual([1]);
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
