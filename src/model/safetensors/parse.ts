/**
 * safetensors reader: a pure function of the bytes (no fetching, no caching, no GPU).
 *
 * Layout: u64 little-endian header length N | N bytes of UTF-8 JSON | data section. The JSON maps each
 * tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the data section)
 * and may hold "__metadata__": { string: string }. The rules follow the reference reader
 * (huggingface/safetensors, `Metadata::validate` and `read_metadata`), a little stricter where noted:
 *  - the header lies within the file, is valid UTF-8 without a byte-order mark, and is one JSON object
 *    (whitespace around it, such as the writer's space padding, is allowed);
 *  - no key appears twice in any object of the header (the reference keeps the last tensor of a name);
 *  - every entry has a dtype, a shape of non-negative integers and two integer data_offsets, written as
 *    plain integers ("2.0", "1e3" and "-0" are refused, as serde refuses them for usize). Other fields
 *    in an entry are ignored, as the reference's serde derive (no deny_unknown_fields) ignores them;
 *  - end − begin = product(shape) · itemsize, computed without leaving the safe-integer range;
 *  - sorted by (begin, end), the tensors tile the data section from 0 with no gap and no overlap, and
 *    when the file length is known the last one ends exactly at the end of the file (no trailing bytes).
 *    Without the length (a streaming prefix) everything but that last check is made.
 * Every failure is a coded StudioError (ModelErrorCode E101–E105) naming the file and the tensor:
 *   E101 truncated  file < 8 bytes, header runs past the end, a tensor ends past the data section
 *   E102 header     header too large, not UTF-8, a BOM, not JSON, nested too deep, not an object, a
 *                   repeated tensor name or field, an entry missing/mistyping fields
 *   E103 offsets    non-integer or reversed offsets, byte length ≠ numel·itemsize (or overflowing),
 *                   overlapping tensors, a gap before or between tensors, trailing bytes
 *   E104 dtype      any dtype but F32 / F16 / BF16 (known or not), rejected by name
 *   E105 metadata   "__metadata__" not an object of strings, or repeated (or a key repeated in it)
 */
import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import { clip, describeJson, jsonKind, JsonNumber, MAX_JSON_DEPTH, parseStrictJson, StrictJsonError } from './json';
import type { JsonObject, JsonValue } from './json';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';
export const SUPPORTED_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

/** A header this large is not a checkpoint header (the reference implementation caps it at 100 MB too). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One header entry. dataOffsets are relative to the start of the data section. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** N: bytes of JSON (including padding) after the 8-byte length. */
  headerLength: number;
  /** 8 + N: where the data section begins in the file. */
  dataStart: number;
  metadata: Record<string, string>;
  /** In header order. */
  entries: Map<string, SafetensorsEntry>;
}

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** View into the parsed bytes (not a copy); little-endian elements. */
  data: Uint8Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensor>;
}

/** Result of looking at the first bytes of a file that is still arriving. */
export type HeaderProbe = { complete: false; bytesNeeded: number } | ({ complete: true } & SafetensorsHeader);

const HINT_REDOWNLOAD = 'the file is damaged or not a safetensors file; delete the cached copy and download it again';
const HINT_TRUNCATED = 'the file was cut short (interrupted download?); delete the cached copy and download it again';
const METADATA = '__metadata__';

function fail(code: string, source: string, message: string, hint: string): never {
  throw new StudioError(code, `${source}: ${message}`, hint);
}

/** A tensor name or key, quoted and shortened for a message. */
const q = (name: string) => `'${clip(name)}'`;

/**
 * Reads the header from the first bytes of a file. Returns { complete: false, bytesNeeded } (the total
 * prefix length required) until the whole header is present, then the parsed header so a streaming
 * loader learns every tensor's offsets early. With `fileLength` (e.g. from Content-Length) offsets are
 * also checked against the data section, which they must cover exactly; without it only their internal
 * consistency (sizes, and tiling from 0 without gaps or overlaps) is checked.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileLength?: number, source = 'safetensors file'): HeaderProbe {
  const known = fileLength ?? Infinity;
  if (prefix.length < 8) {
    if (known < 8) fail(ModelErrorCode.safetensorsTruncated, source, `file is ${known} bytes, shorter than the 8-byte header length`, HINT_TRUNCATED);
    return { complete: false, bytesNeeded: 8 };
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo >= MAX_HEADER_BYTES) {
    const n = hi * 2 ** 32 + lo;
    fail(ModelErrorCode.safetensorsHeader, source, `header length ${n} bytes is not below the ${MAX_HEADER_BYTES}-byte limit`, HINT_REDOWNLOAD);
  }
  const dataStart = 8 + lo;
  if (dataStart > known) {
    fail(ModelErrorCode.safetensorsTruncated, source, `header length ${lo} runs past the end of the file (${known} bytes, header needs ${dataStart})`, HINT_TRUNCATED);
  }
  if (prefix.length < dataStart) return { complete: false, bytesNeeded: dataStart };

  const root = readHeaderJson(prefix.subarray(8, dataStart), source);
  const dataLength = known - dataStart; // Infinity when the file length is unknown
  let metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of root) {
    if (name === METADATA) metadata = readMetadata(raw, source);
    else entries.set(name, readEntry(name, raw, dataLength, source));
  }
  checkLayout(entries, dataLength, source);
  return { complete: true, headerLength: lo, dataStart, metadata, entries };
}

/** Parses a whole file; tensor data are views into `bytes`. */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors file'): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, bytes.length, source);
  // With the whole file present the header is always complete; the guard keeps the types honest.
  if (!header.complete) fail(ModelErrorCode.safetensorsTruncated, source, `file is ${bytes.length} bytes, header needs ${header.bytesNeeded}`, HINT_TRUNCATED);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, e] of header.entries) {
    const [begin, end] = e.dataOffsets;
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(header.dataStart + begin, header.dataStart + end) });
  }
  return { metadata: header.metadata, tensors };
}

/** The header bytes as one JSON object; every way of failing becomes E102 (or E105 for the metadata). */
function readHeaderJson(bytes: Uint8Array, source: string): JsonObject {
  const where = `header (bytes 8..${8 + bytes.length})`;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    // TextDecoder would drop the mark silently; the reference reader refuses it, and so do we.
    fail(ModelErrorCode.safetensorsHeader, source, `${where} starts with a UTF-8 byte-order mark (EF BB BF); a header must start with '{'`, HINT_REDOWNLOAD);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail(ModelErrorCode.safetensorsHeader, source, `${where} is not valid UTF-8`, HINT_REDOWNLOAD);
  }
  let root: JsonValue;
  try {
    root = parseStrictJson(text);
  } catch (e) {
    // The reader is a loop and cannot overflow the stack; a RangeError could only be memory running out.
    if (e instanceof RangeError) fail(ModelErrorCode.safetensorsHeader, source, `${where} could not be read: ${e.message}`, HINT_REDOWNLOAD);
    if (!(e instanceof StrictJsonError)) throw e;
    const p = e.problem;
    if (p.kind === 'syntax') {
      const near = p.at < text.length ? ` near ${JSON.stringify(text.slice(p.at, p.at + 16))}` : '';
      fail(ModelErrorCode.safetensorsHeader, source, `${where} is not valid JSON: ${p.what} at character ${p.at}${near}`, HINT_REDOWNLOAD);
    }
    if (p.kind === 'depth') {
      fail(ModelErrorCode.safetensorsHeader, source, `${where} nests arrays or objects more than ${MAX_JSON_DEPTH} deep (at character ${p.at}); a header needs 3 levels`, HINT_REDOWNLOAD);
    }
    return duplicateKey(p.path, p.key, source);
  }
  if (!(root instanceof Map)) fail(ModelErrorCode.safetensorsHeader, source, `header JSON is ${jsonKind(root)} (${describeJson(root)}), not an object`, HINT_REDOWNLOAD);
  return root;
}

/** A key repeated in one object: JSON.parse would keep the last silently; a damaged or forged header. */
function duplicateKey(path: (string | number)[], key: string, source: string): never {
  const [tensor, field] = path;
  if (tensor === undefined) {
    if (key === METADATA) fail(ModelErrorCode.safetensorsMetadata, source, `"${METADATA}" appears twice in the header`, HINT_REDOWNLOAD);
    fail(ModelErrorCode.safetensorsHeader, source, `tensor ${q(key)} appears twice in the header`, HINT_REDOWNLOAD);
  }
  if (tensor === METADATA) fail(ModelErrorCode.safetensorsMetadata, source, `"${METADATA}" has the key ${q(key)} twice`, HINT_REDOWNLOAD);
  if (field === undefined) fail(ModelErrorCode.safetensorsHeader, source, `tensor ${q(String(tensor))} has the field ${q(key)} twice`, HINT_REDOWNLOAD);
  return fail(ModelErrorCode.safetensorsHeader, source, `tensor ${q(String(tensor))} has the key ${q(key)} twice inside its field ${q(String(field))}`, HINT_REDOWNLOAD);
}

function readMetadata(raw: JsonValue | undefined, source: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!(raw instanceof Map)) fail(ModelErrorCode.safetensorsMetadata, source, `"${METADATA}" is ${jsonKind(raw)} (${describeJson(raw)}), expected an object of strings`, HINT_REDOWNLOAD);
  const out: [string, string][] = [];
  for (const [k, v] of raw) {
    if (typeof v !== 'string') {
      fail(ModelErrorCode.safetensorsMetadata, source, `"${METADATA}" key ${q(k)} has ${jsonKind(v)} value (${describeJson(v)}); only strings are allowed`, 're-export the file with string metadata values');
    }
    out.push([k, v]);
  }
  return Object.fromEntries(out); // defines "__proto__" as an ordinary key instead of setting the prototype
}

/** A JSON number written as a plain non-negative integer within the safe range, or null. */
function toIndex(v: JsonValue | undefined): number | null {
  if (!(v instanceof JsonNumber) || !/^(?:0|[1-9][0-9]*)$/.test(v.raw)) return null;
  const n = Number(v.raw);
  return Number.isSafeInteger(n) ? n : null;
}

function readEntry(name: string, raw: JsonValue, dataLength: number, source: string): SafetensorsEntry {
  const bad = (what: string): never => fail(ModelErrorCode.safetensorsHeader, source, `tensor ${q(name)} ${what}`, HINT_REDOWNLOAD);
  if (!(raw instanceof Map)) return bad(`is ${jsonKind(raw)} (${describeJson(raw)}), not an object with dtype, shape and data_offsets`);
  const dtype = raw.get('dtype');
  const shape = raw.get('shape');
  const offsets = raw.get('data_offsets');
  if (typeof dtype !== 'string') return bad(`has no dtype string (dtype is ${describeJson(dtype)})`);
  if (!(SUPPORTED_DTYPES as readonly string[]).includes(dtype)) {
    fail(ModelErrorCode.safetensorsDtype, source, `tensor ${q(name)} has dtype ${clip(dtype, 40)}; supported: ${SUPPORTED_DTYPES.join(', ')}`, 'convert the checkpoint to float32, float16 or bfloat16');
  }
  const dims = Array.isArray(shape) ? shape.map(toIndex) : null;
  if (dims === null || dims.some((d) => d === null)) {
    return bad(`${shape === undefined ? 'has no shape' : `has shape ${describeJson(shape)}`}; expected a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => o instanceof JsonNumber)) {
    return bad(`${offsets === undefined ? 'has no data_offsets' : `has data_offsets ${describeJson(offsets)}`}; expected [begin, end]`);
  }
  const begin = toIndex(offsets[0]);
  const end = toIndex(offsets[1]);
  if (begin === null || end === null || begin > end) {
    const [b, e] = offsets.map((o) => clip((o as JsonNumber).raw, 40));
    fail(ModelErrorCode.safetensorsOffsets, source, `tensor ${q(name)} has data_offsets [${b}, ${e}]; expected integers with 0 ≤ begin ≤ end`, HINT_REDOWNLOAD);
  }
  if (end > dataLength) {
    fail(ModelErrorCode.safetensorsTruncated, source, `tensor ${q(name)} ends at data offset ${end}, past the ${dataLength}-byte data section`, HINT_TRUNCATED);
  }
  // As the reference's checked multiplications, with 2^53 in place of usize: the element count, left to
  // right, then the bytes; a result past the limit fails even if a later dimension is 0.
  let numel = 1;
  for (const d of dims as number[]) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) break;
  }
  const expected = numel * DTYPE_BYTES[dtype as SafetensorsDtype];
  if (!Number.isSafeInteger(expected)) {
    fail(ModelErrorCode.safetensorsOffsets, source, `tensor ${q(name)} (${dtype} ${describeJson(shape)}) would need more than ${Number.MAX_SAFE_INTEGER} bytes`, HINT_REDOWNLOAD);
  }
  if (end - begin !== expected) {
    fail(ModelErrorCode.safetensorsOffsets, source, `tensor ${q(name)} (${dtype} ${describeJson(shape)}) spans ${end - begin} bytes [${begin}, ${end}], expected ${expected}`, HINT_REDOWNLOAD);
  }
  return { dtype: dtype as SafetensorsDtype, shape: dims as number[], dataOffsets: [begin, end] };
}

/**
 * Sorted by (begin, end), each tensor must begin where the previous one ended, the first at 0; with a
 * known data length the last must end there. (Empty tensors sit at a boundary, as in the reference.)
 */
function checkLayout(entries: Map<string, SafetensorsEntry>, dataLength: number, source: string): void {
  const sorted = [...entries].sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let pos = 0;
  let prev: [string, SafetensorsEntry] | null = null;
  const at = ([name, e]: [string, SafetensorsEntry]) => `${q(name)} [${e.dataOffsets.join(', ')}]`;
  for (const cur of sorted) {
    const begin = cur[1].dataOffsets[0];
    if (begin < pos) fail(ModelErrorCode.safetensorsOffsets, source, `tensors ${at(prev!)} and ${at(cur)} overlap`, HINT_REDOWNLOAD);
    if (begin > pos) {
      const before = prev === null ? `before the first tensor ${at(cur)}` : `between tensors ${at(prev)} and ${at(cur)}`;
      fail(ModelErrorCode.safetensorsOffsets, source, `data bytes ${pos}..${begin} ${before} belong to no tensor`, HINT_REDOWNLOAD);
    }
    pos = cur[1].dataOffsets[1];
    prev = cur;
  }
  if (Number.isFinite(dataLength) && pos !== dataLength) {
    const last = prev === null ? 'there are no tensors' : `the last tensor ${at(prev)} ends at ${pos}`;
    fail(ModelErrorCode.safetensorsOffsets, source, `the data section is ${dataLength} bytes but ${last}: ${dataLength - pos} trailing bytes (a wrong header length or a damaged file)`, HINT_REDOWNLOAD);
  }
}
