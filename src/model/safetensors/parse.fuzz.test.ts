/**
 * Seeded fuzzing of the safetensors reader (issue 12). Real files (the bundled kjv-llama-3m header, and
 * small files with its tensor names, several mixed-dtype tensors and some awkward names) are mutated:
 * truncation, byte and bit flips in the length field and the header, header length ± k, overlapping,
 * reversed, gapped and late offsets, deep nesting, repeated keys, a BOM, trailing bytes, shape, dtype,
 * number-literal, string and type edits. Each case must either parse, and then a small reference
 * validator written here (independently: V8's JSON.parse for syntax, a regex tokenizer for keys and
 * number literals, BigInt for sizes) accepts it with the same entries, or throw a StudioError coded
 * E101–E105 that the validator agrees is a rejection. Inputs are bounded in size (counted, not timed).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isStudioError } from '../../engine/errors';
import { rng } from '../../engine/testing/random';
import { ModelErrorCode as E } from '../errors';
import { parseSafetensors, parseSafetensorsHeader } from './parse';
import type { SafetensorsEntry } from './parse';
import { serializeSafetensors } from './serialize';

const MODEL = fileURLToPath(new URL('../../../public/models/kjv-llama-3m/model.safetensors', import.meta.url));
const CODES: string[] = [E.safetensorsTruncated, E.safetensorsHeader, E.safetensorsOffsets, E.safetensorsDtype, E.safetensorsMetadata];
const SEED = 12;
const SMALL_CASES = 9000;
const REAL_CASES = 3000;
const MAX_CASE_BYTES = 512 * 1024;

// ---------------------------------------------------------------------------------------------------
// The reference validator: the rules of huggingface/safetensors (read_metadata + Metadata::validate),
// with the project's documented additions (no repeated key anywhere, at most 64 nested containers, no
// lone surrogate escapes) and 2^53 − 1 standing in for usize.

type RefNode = null | boolean | string | { num: string } | RefNode[] | Map<string, RefNode>;
type RefVerdict = { kind: 'accept'; entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } | { kind: 'reject'; why: string } | { kind: 'incomplete' };

const REF_SIZES: Record<string, bigint> = { F32: 4n, F16: 2n, BF16: 2n };
const USIZE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const TOKEN = /[ \t\n\r]*(?:("(?:[^"\\]|\\.)*")|([{}[\]:,])|(-?[0-9][0-9.eE+-]*)|(true|false|null))/y;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PLAIN_INT = /^(?:0|[1-9][0-9]*)$/;

/** Tokens of text already known to be valid JSON, folded into a tree; a string says why it is refused. */
function refTree(text: string): RefNode | string {
  const stack: { c: RefNode[] | Map<string, RefNode>; key: string | null }[] = [];
  let root: RefNode = null;
  const add = (v: RefNode) => {
    const top = stack[stack.length - 1];
    if (top === undefined) root = v;
    else if (Array.isArray(top.c)) top.c.push(v);
    else {
      top.c.set(top.key!, v);
      top.key = null;
    }
  };
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
    const [, str, punct, num, lit] = m;
    const top = stack[stack.length - 1];
    if (str !== undefined) {
      const s = JSON.parse(str) as string;
      if (LONE_SURROGATE.test(s)) return 'lone surrogate';
      if (top !== undefined && !Array.isArray(top.c) && top.key === null) {
        if (top.c.has(s)) return `repeated key ${s}`;
        top.key = s;
      } else add(s);
    } else if (punct === '{' || punct === '[') {
      if (stack.length + 1 > 64) return 'too deep';
      const c = punct === '{' ? new Map<string, RefNode>() : [];
      add(c);
      stack.push({ c, key: null });
    } else if (punct === '}' || punct === ']') stack.pop();
    else if (num !== undefined) add({ num });
    else if (lit !== undefined) add(lit === 'null' ? null : lit === 'true');
  }
  return root;
}

/** A usize as serde reads one: a plain integer literal, here at most 2^53 − 1. */
const asInt = (v: RefNode | undefined): bigint | null => {
  if (v === null || typeof v !== 'object' || !('num' in v) || !PLAIN_INT.test(v.num)) return null;
  const x = BigInt(v.num);
  return x <= USIZE_MAX ? x : null;
};

function reference(prefix: Uint8Array, fileLength: number): RefVerdict {
  const no = (why: string): RefVerdict => ({ kind: 'reject', why });
  if (fileLength < 8) return no('no length field');
  if (prefix.length < 8) return { kind: 'incomplete' };
  const n = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (n >= 100_000_000n) return no('header too large'); // the project refuses 10^8 itself; the reference only above it
  const dataStart = 8 + Number(n);
  if (dataStart > fileLength) return no('header past the end');
  if (prefix.length < dataStart) return { kind: 'incomplete' };
  const raw = Buffer.from(prefix.buffer, prefix.byteOffset + 8, Number(n));
  const text = raw.toString('utf8'); // keeps a BOM, which JSON.parse then refuses as a non-space character
  if (!Buffer.from(text, 'utf8').equals(raw)) return no('not UTF-8');
  try {
    JSON.parse(text);
  } catch {
    return no('not JSON');
  }
  const root = refTree(text);
  if (typeof root === 'string') return no(root);
  if (!(root instanceof Map)) return no('not an object');
  let metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsEntry>();
  const spans: [bigint, bigint][] = [];
  for (const [name, v] of root) {
    if (name === '__metadata__') {
      if (v === null) continue;
      if (!(v instanceof Map) || ![...v.values()].every((x) => typeof x === 'string')) return no('bad metadata');
      metadata = Object.fromEntries(v as Map<string, string>);
      continue;
    }
    if (!(v instanceof Map)) return no(`${name}: not an object`);
    const dtype = v.get('dtype');
    const shape = v.get('shape');
    const offsets = v.get('data_offsets');
    if (typeof dtype !== 'string' || REF_SIZES[dtype] === undefined) return no(`${name}: dtype`);
    if (!Array.isArray(shape) || !shape.every((d) => asInt(d) !== null)) return no(`${name}: shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) return no(`${name}: offsets`);
    const begin = asInt(offsets[0]);
    const end = asInt(offsets[1]);
    if (begin === null || end === null || end < begin) return no(`${name}: offsets`);
    let numel = 1n;
    for (const d of shape) {
      numel *= asInt(d)!;
      if (numel > USIZE_MAX) return no(`${name}: overflow`);
    }
    if (numel * REF_SIZES[dtype]! > USIZE_MAX) return no(`${name}: overflow`);
    if (end - begin !== numel * REF_SIZES[dtype]!) return no(`${name}: size`);
    spans.push([begin, end]);
    entries.set(name, { dtype: dtype as SafetensorsEntry['dtype'], shape: shape.map((d) => Number(asInt(d))), dataOffsets: [Number(begin), Number(end)] });
  }
  spans.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let pos = 0n;
  for (const [b, e] of spans) {
    if (b !== pos) return no('not contiguous');
    pos = e;
  }
  if (pos !== BigInt(fileLength - dataStart)) return no('data section not covered exactly');
  return { kind: 'accept', entries, metadata };
}

// ---------------------------------------------------------------------------------------------------
// Files as data: tensors → a header of raw JSON pieces → bytes, with mutations at each level.

interface Tensor {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}
/** An object as [key JSON, value JSON | nested object] pairs, so repeats and odd literals can be written. */
type Obj = [string, string | Obj][];
interface Draft {
  tensors: Tensor[];
  metadata: Record<string, string> | null;
  dataLength: number;
}
/** `prefix` is all we hold of a file of `fileLength` bytes (the whole file for the small ones). */
interface Case {
  prefix: Uint8Array;
  fileLength: number;
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T,>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const SIZES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
const anyTensor = (d: Draft, r: Rand): Tensor | undefined => d.tensors[int(r, d.tensors.length)];
const ODD_NAMES = ['0', '12', '__proto__', 'naïve ✓', 'a"b\\c', 'tab\there', '😀', 'constructor'];

function smallDraft(r: Rand, realNames: string[]): Draft {
  const count = int(r, 7); // 0..6 tensors
  const names = new Set<string>();
  while (names.size < count) names.add(r() < 0.2 ? pick(r, ODD_NAMES) : pick(r, realNames));
  const tensors: Tensor[] = [...names].map((name) => ({ name, dtype: pick(r, ['F32', 'F16', 'BF16']), shape: Array.from({ length: int(r, 4) }, () => int(r, 6)), begin: 0, end: 0 }));
  // contiguous in a random data order, which need not be the header order
  const order = tensors.map((_, i) => i).sort(() => r() - 0.5);
  let pos = 0;
  for (const i of order) {
    const t = tensors[i]!;
    t.begin = pos;
    pos += t.shape.reduce((a, d) => a * d, 1) * SIZES[t.dtype]!;
    t.end = pos;
  }
  const metadata = r() < 0.6 ? { format: 'pt', ...(r() < 0.3 ? { 'note ✓': 'x'.repeat(int(r, 20)) } : {}) } : null;
  return { tensors, metadata, dataLength: pos };
}

function toObj(d: Draft): Obj {
  const obj: Obj = [];
  if (d.metadata !== null) obj.push(['"__metadata__"', Object.entries(d.metadata).map(([k, v]): [string, string] => [JSON.stringify(k), JSON.stringify(v)])]);
  for (const t of d.tensors) {
    obj.push([JSON.stringify(t.name), [['"dtype"', JSON.stringify(t.dtype)], ['"shape"', JSON.stringify(t.shape)], ['"data_offsets"', `[${t.begin},${t.end}]`]]]);
  }
  return obj;
}

function render(obj: Obj, space: () => string): string {
  return `{${space()}${obj.map(([k, v]) => `${k}${space()}:${space()}${typeof v === 'string' ? v : render(v, space)}`).join(`${space()},${space()}`)}${space()}}`;
}

function assemble(headerText: string, dataLength: number, r: Rand, align: boolean): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const n = align ? Math.ceil(json.length / 8) * 8 : json.length + int(r, 3);
  const out = new Uint8Array(8 + n + dataLength);
  new DataView(out.buffer).setUint32(0, n, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  for (let i = 8 + n; i < out.length; i++) out[i] = int(r, 256);
  return out;
}

const nested = (depth: number, open: string, close: string, core: string) => `${open.repeat(depth)}${core}${close.repeat(depth)}`;

/** Semantic edits of the tensors and metadata. */
const DRAFT_MUTATIONS: Record<string, (d: Draft, r: Rand) => void> = {
  overlap: (d, r) => {
    const t = d.tensors.find((x) => x.begin > 0);
    if (t) {
      const k = 1 + int(r, Math.min(t.begin, 8));
      t.begin -= k;
      t.end -= r() < 0.5 ? k : 0;
    }
  },
  reverse: (d, r) => {
    const t = anyTensor(d, r);
    if (t) [t.begin, t.end] = [t.end, t.begin];
  },
  gap: (d, r) => {
    const t = anyTensor(d, r);
    const k = 1 + int(r, 8);
    if (t) for (const x of d.tensors) if (x.begin >= t.begin && x !== t) [x.begin, x.end] = [x.begin + k, x.end + k];
    if (t) [t.begin, t.end] = [t.begin + k, t.end + k];
    d.dataLength += k;
  },
  endDelta: (d, r) => {
    const t = anyTensor(d, r);
    if (t) t.end += pick(r, [-2, -1, 1, 2, 4]);
  },
  hugeOffsets: (d, r) => {
    const t = anyTensor(d, r);
    if (t) t.end = pick(r, [2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -1]);
  },
  shape: (d, r) => {
    const t = anyTensor(d, r);
    if (!t) return;
    const i = int(r, t.shape.length + 1);
    const edit = int(r, 6);
    if (edit === 0 && i < t.shape.length) t.shape[i]! += pick(r, [-1, 1]);
    else if (edit === 1) t.shape.splice(i, 0, 1); // a dimension of 1: still the same size
    else if (edit === 2) t.shape.splice(i, 0, pick(r, [0, 2, 2 ** 31, 2 ** 53 - 1, 2 ** 53]));
    else if (edit === 3 && i < t.shape.length && t.shape[i] === 1) t.shape.splice(i, 1);
    else if (edit === 4) t.shape.splice(i, 0, 2 ** 31, 2 ** 31, 0); // overflows before the 0
    else t.shape = [];
  },
  dtype: (d, r) => {
    const t = anyTensor(d, r);
    if (t) t.dtype = pick(r, ['F16', 'BF16', 'F32', 'I64', 'F64', 'F8_E4M3', 'BOOL', 'f32', '', 'F32 ']);
  },
  reorder: (d, r) => {
    d.tensors.sort(() => r() - 0.5);
  },
  metadata: (d, r) => {
    d.metadata = r() < 0.5 ? null : { ...(d.metadata ?? {}), [pick(r, ['format', 'step', '__proto__', ''])]: pick(r, ['pt', '3', '', '✓']) };
  },
};

const entryPairs = (obj: Obj): Obj[] => obj.filter(([k, v]) => k !== '"__metadata__"' && typeof v !== 'string').map(([, v]) => v as Obj);

/** Edits of the raw JSON pieces (repeats, nesting, literals, missing or mistyped fields). */
const OBJ_MUTATIONS: Record<string, (o: Obj, r: Rand) => Obj> = {
  repeatTensor: (o, r) => {
    const [k, v] = pick(r, o.length ? o : [['"x"', '{}'] as [string, string | Obj]]);
    const escaped = k.length > 2 && r() < 0.5 ? `"\\u${k.charCodeAt(1).toString(16).padStart(4, '0')}${k.slice(2)}` : k;
    return [...o, [escaped, v]];
  },
  repeatField: (o, r) => {
    const e = entryPairs(o);
    if (e.length) {
      const entry = pick(r, e);
      const [k, v] = pick(r, entry);
      entry.splice(int(r, entry.length + 1), 0, [k, r() < 0.5 ? v : '[0,0]']);
    }
    return o;
  },
  repeatMetadata: (o, r) => {
    const meta = o.find(([k]) => k === '"__metadata__"');
    if (meta && typeof meta[1] !== 'string' && meta[1].length && r() < 0.5) meta[1].push([meta[1][0]![0], '"again"']);
    else o.push(['"__metadata__"', '{}']);
    return o;
  },
  nest: (o, r) => {
    // around the 64-level limit (the entry is level 2), far past it, and rarely 100,000 deep (≤ 200 KB)
    const huge = r() < 0.05;
    const depth = huge ? 100_000 : pick(r, [1, 2, 30, 60, 61, 62, 63, 100, 1000]);
    const e = entryPairs(o);
    const value = r() < 0.5 ? nested(depth, '[', ']', '') : nested(huge ? depth / 4 : depth, '{"k":', '}', '1');
    if (e.length && r() < 0.5) {
      const entry = pick(r, e);
      const shape = entry.find(([k]) => k === '"shape"');
      if (shape && r() < 0.5) shape[1] = nested(depth, '[', ']', '2');
      else entry.push(['"extra"', value]);
    } else o.push(['"deep"', value]);
    return o;
  },
  unknownField: (o, r) => {
    const e = entryPairs(o);
    if (e.length) pick(r, e).push([pick(r, ['"note"', '"offsets"', '"__proto__"']), pick(r, ['1.5e300', '"x"', '{"a":[true,null]}', '[]'])]);
    return o;
  },
  literal: (o, r) => {
    const e = entryPairs(o);
    if (e.length) {
      const entry = pick(r, e);
      const field = pick(r, entry);
      const lit = pick(r, ['2.0', '1e3', '-0', '-1', '00', '9007199254740993', '0.5', '"2"', 'null', 'true']);
      field[1] = typeof field[1] === 'string' && field[1].startsWith('[') ? field[1].replace(/[0-9]+/, lit) : lit;
    }
    return o;
  },
  dropField: (o, r) => {
    const e = entryPairs(o);
    if (e.length) {
      const entry = pick(r, e);
      entry.splice(int(r, entry.length), 1);
    }
    return o;
  },
  retype: (o, r) => {
    if (!o.length) return o;
    const i = int(r, o.length);
    o[i] = [o[i]![0], pick(r, ['3', '[]', '"F32"', 'null', '{"dtype":"F32","shape":[],"data_offsets":[0]}', '{"dtype":"F32","shape":[],"data_offsets":[0,4,8]}', '{"dtype":"F32","shape":{},"data_offsets":[0,4]}'])];
    return o;
  },
  names: (o, r) => {
    const bad = pick(r, ['"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"\\u0000"', '"a\u0001"', '"\\x"', '"\\/ok"', '"\u007f"']);
    const e = o.findIndex(([k]) => k !== '"__metadata__"');
    if (e >= 0) o[e] = [bad, o[e]![1]];
    return o;
  },
};

/** Whole-header replacements and whitespace, applied to the text. */
const TEXT_MUTATIONS: Record<string, (text: string, r: Rand) => string> = {
  root: (text, r) => pick(r, ['[]', 'null', '"str"', '{}', '3', `[${text}]`, `${text}${text}`, `${text},`, `${text} x`, '']),
  bom: (text) => `\uFEFF${text}`,
  innerBom: (text) => text.replace(',', '\uFEFF,'),
  oddSpace: (text, r) => text.replace(':', `${pick(r, ['\u00a0', '\u000b', '\u000c', '\u2028'])}:`),
};

/** Byte-level edits of a case. */
const BYTE_MUTATIONS: Record<string, (c: Case, r: Rand) => Case> = {
  truncate: (c, r) => {
    const len = int(r, c.fileLength);
    return { prefix: c.prefix.slice(0, Math.min(len, c.prefix.length)), fileLength: len };
  },
  flipHeader: (c, r) => {
    if (c.prefix.length < 8) return c;
    const p = c.prefix.slice();
    const end = Math.min(p.length, 8 + new DataView(p.buffer).getUint32(0, true));
    for (let k = 0; k < 1 + int(r, 3); k++) if (end > 8) p[8 + int(r, end - 8)] = int(r, 256);
    return { ...c, prefix: p };
  },
  bitFlip: (c, r) => {
    if (c.prefix.length < 8) return c;
    const p = c.prefix.slice();
    const end = Math.min(p.length, 8 + new DataView(p.buffer).getUint32(0, true));
    const i = int(r, end);
    p[i]! ^= 1 << int(r, 8);
    return { ...c, prefix: p };
  },
  lengthByte: (c, r) => {
    if (c.prefix.length < 8) return c;
    const p = c.prefix.slice();
    p[int(r, 8)] = pick(r, [0, 1, 0x7f, 0xff, int(r, 256)]);
    return { ...c, prefix: p };
  },
  lengthDelta: (c, r) => {
    if (c.prefix.length < 8) return c;
    const p = c.prefix.slice();
    const view = new DataView(p.buffer);
    view.setUint32(0, Math.max(0, view.getUint32(0, true) + pick(r, [-16, -8, -3, -2, -1, 1, 2, 3, 8, 16])), true);
    return { ...c, prefix: p };
  },
  trailing: (c, r) => {
    const k = 1 + int(r, 16);
    if (c.prefix.length < c.fileLength) return { ...c, fileLength: c.fileLength + k };
    const p = new Uint8Array(c.prefix.length + k);
    p.set(c.prefix);
    p.fill(r() < 0.5 ? 0 : 0x20, c.prefix.length);
    return { prefix: p, fileLength: p.length };
  },
  dropTail: (c, r) => {
    const k = 1 + int(r, 8);
    return { prefix: c.prefix.slice(0, Math.min(c.prefix.length, c.fileLength - k)), fileLength: Math.max(0, c.fileLength - k) };
  },
};

type Outcome = { kind: 'accept'; entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } | { kind: 'incomplete' } | { kind: 'error'; code: string };

function runParser(c: Case, streaming: boolean): Outcome {
  try {
    if (!streaming && c.prefix.length === c.fileLength) {
      const f = parseSafetensors(c.prefix, 'fuzz.safetensors');
      const entries = new Map<string, SafetensorsEntry>();
      for (const [name, t] of f.tensors) {
        const begin = t.data.byteOffset - c.prefix.byteOffset - (8 + new DataView(c.prefix.buffer, c.prefix.byteOffset).getUint32(0, true));
        entries.set(name, { dtype: t.dtype, shape: t.shape, dataOffsets: [begin, begin + t.data.length] });
      }
      return { kind: 'accept', entries, metadata: f.metadata };
    }
    const probe = parseSafetensorsHeader(c.prefix, streaming ? undefined : c.fileLength, 'fuzz.safetensors');
    return probe.complete ? { kind: 'accept', entries: probe.entries, metadata: probe.metadata } : { kind: 'incomplete' };
  } catch (e) {
    if (!isStudioError(e) || !CODES.includes(e.code)) throw new Error(`not a coded E101–E105 error: ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 300)}` : String(e)}`);
    if (!e.message.includes('fuzz.safetensors')) throw new Error(`message does not name the file: ${e.message.slice(0, 300)}`);
    return { kind: 'error', code: e.code };
  }
}

const plainEntries = (m: Map<string, SafetensorsEntry>) => [...m].map(([k, e]) => [k, e.dtype, e.shape, e.dataOffsets]);

function realFile(): { prefix: Uint8Array; fileLength: number } {
  const fd = openSync(MODEL, 'r');
  try {
    const head = new Uint8Array(8);
    readSync(fd, head, 0, 8, 0);
    const n = new DataView(head.buffer).getUint32(0, true);
    const prefix = new Uint8Array(8 + n + 64); // the header and the first data bytes: enough for every header edit
    readSync(fd, prefix, 0, prefix.length, 0);
    return { prefix, fileLength: fstatSync(fd).size };
  } finally {
    closeSync(fd);
  }
}

describe('safetensors reader under seeded mutation', () => {
  it('parses exactly what the reference validator accepts, and fails with E101–E105 otherwise', () => {
    const real = realFile();
    const realHeader = JSON.parse(new TextDecoder().decode(real.prefix.subarray(8, real.prefix.length - 64))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
    const realDraft = (): Draft => ({
      tensors: Object.entries(realHeader)
        .filter(([k]) => k !== '__metadata__')
        .map(([name, e]) => ({ name, dtype: e.dtype as string, shape: [...(e.shape as number[])], begin: (e.data_offsets as number[])[0]!, end: (e.data_offsets as number[])[1]! })),
      metadata: { ...(realHeader.__metadata__ as Record<string, string>) },
      dataLength: real.fileLength - real.prefix.length + 64,
    });
    expect(reference(real.prefix, real.fileLength).kind).toBe('accept');
    const realNames = realDraft().tensors.map((t) => t.name);

    const r = rng(SEED);
    const counts: Record<string, number> = {};
    const streamingCounts: Record<string, number> = {};
    const tally = (into: Record<string, number>, o: Outcome) => {
      const key = o.kind === 'error' ? o.code : o.kind;
      into[key] = (into[key] ?? 0) + 1;
    };
    let maxBytes = 0;
    let totalBytes = 0;
    const draftKeys = Object.keys(DRAFT_MUTATIONS);
    const objKeys = Object.keys(OBJ_MUTATIONS);
    const textKeys = Object.keys(TEXT_MUTATIONS);
    const byteKeys = Object.keys(BYTE_MUTATIONS);

    for (let i = 0; i < SMALL_CASES + REAL_CASES; i++) {
      const isReal = i >= SMALL_CASES;
      const applied: string[] = [];
      // 1 to 3 edits, each at one of the four levels; about 1 case in 12 stays valid by construction
      const plan = r() < 0.08 ? [] : Array.from({ length: 1 + int(r, 3) }, () => pick(r, ['draft', 'draft', 'obj', 'obj', 'obj', 'text', 'bytes', 'bytes', 'bytes']));
      const times = (level: string) => plan.filter((l) => l === level).length;
      const draft = isReal ? realDraft() : smallDraft(r, realNames);
      for (let n = times('draft'); n > 0; n--) {
        const k = pick(r, draftKeys);
        applied.push(k);
        DRAFT_MUTATIONS[k]!(draft, r);
      }
      let obj = toObj(draft);
      for (let n = times('obj'); n > 0; n--) {
        const k = pick(r, objKeys);
        applied.push(k);
        obj = OBJ_MUTATIONS[k]!(obj, r);
      }
      const spaced = r() < 0.15;
      let text = render(obj, () => (spaced ? pick(r, ['', ' ', '\n', '\t', '\r\n  ']) : ''));
      for (let n = times('text'); n > 0; n--) {
        const k = pick(r, textKeys);
        applied.push(k);
        text = TEXT_MUTATIONS[k]!(text, r);
      }
      let c: Case;
      if (isReal) {
        // the real header with its real data length; only its first data bytes are held
        const bytes = assemble(text, 0, r, true);
        const prefix = new Uint8Array(bytes.length + 64);
        prefix.set(bytes);
        prefix.set(real.prefix.subarray(real.prefix.length - 64), bytes.length);
        c = { prefix, fileLength: bytes.length + draft.dataLength };
      } else {
        // a header left as drawn is sometimes written by the project's own writer instead
        const bytes = plan.every((l) => l === 'bytes') && r() < 0.3 ? writeWithSerializer(draft) : assemble(text, draft.dataLength, r, r() < 0.7);
        c = { prefix: bytes, fileLength: bytes.length };
      }
      for (let n = times('bytes'); n > 0; n--) {
        const k = pick(r, byteKeys);
        applied.push(k);
        c = BYTE_MUTATIONS[k]!(c, r);
      }
      maxBytes = Math.max(maxBytes, c.prefix.length);
      totalBytes += c.prefix.length;

      const label = `case ${i} (${isReal ? 'kjv header' : 'small file'}; ${applied.join(', ') || 'unmutated'})`;
      let got: Outcome;
      let streamed: Outcome;
      try {
        got = runParser(c, false);
        streamed = runParser(c, true);
      } catch (e) {
        throw new Error(`${label}: ${(e as Error).message}`);
      }
      tally(counts, got);
      tally(streamingCounts, streamed);
      const want = reference(c.prefix, c.fileLength);
      if (got.kind !== (want.kind === 'reject' ? 'error' : want.kind)) {
        throw new Error(`${label}: parser ${got.kind === 'error' ? got.code : got.kind}, reference ${want.kind}${want.kind === 'reject' ? ` (${want.why})` : ''}`);
      }
      if (got.kind === 'accept' && want.kind === 'accept') {
        expect(plainEntries(got.entries), label).toEqual(plainEntries(want.entries));
        expect(got.metadata, label).toEqual(want.metadata);
      }
      // Without a length the reader checks everything but the end: what it accepts is a valid file of
      // exactly the length its tensors cover, and whatever the full parse accepts it accepts too.
      if (got.kind === 'accept' && streamed.kind !== 'accept') throw new Error(`${label}: full parse accepts, streaming gives ${streamed.kind}`);
      if (streamed.kind === 'accept') {
        const dataStart = 8 + new DataView(c.prefix.buffer, c.prefix.byteOffset).getUint32(0, true);
        const covered = Math.max(0, ...[...streamed.entries.values()].map((e) => e.dataOffsets[1]));
        const implied = reference(c.prefix.subarray(0, Math.min(c.prefix.length, dataStart + covered)), dataStart + covered);
        if (implied.kind !== 'accept') throw new Error(`${label}: streaming accepts, reference at the implied length ${dataStart + covered} says ${implied.kind}`);
        expect(plainEntries(streamed.entries), label).toEqual(plainEntries(implied.entries));
      }
    }

    console.log(`safetensors fuzz (seed ${SEED}, ${SMALL_CASES} small files + ${REAL_CASES} kjv headers, max ${maxBytes} B/case):`, JSON.stringify({ withLength: counts, streamingWithoutLength: streamingCounts }));
    // bounded inputs instead of a clock: no case is large, and the whole run reads little
    expect(maxBytes).toBeLessThanOrEqual(MAX_CASE_BYTES);
    expect(totalBytes).toBeLessThan(64 * 1024 * 1024);
    // the mutations reach every rule: valid files and every code occur
    expect(counts.accept ?? 0).toBeGreaterThan(1000);
    for (const code of CODES) expect(counts[code] ?? 0, code).toBeGreaterThan(20);
  });
});

/** The same tensors and metadata as the project's writer lays them out (its own order and padding). */
function writeWithSerializer(d: Draft): Uint8Array {
  const tensors = d.tensors.map((t) => ({ name: t.name, dtype: t.dtype as SafetensorsEntry['dtype'], shape: t.shape, data: new Uint8Array(t.end - t.begin) }));
  return serializeSafetensors(tensors, d.metadata ?? undefined);
}
