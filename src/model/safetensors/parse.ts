/**
 * safetensors reader: a pure function of the bytes (no fetching, no caching, no GPU).
 *
 * Layout: u64 little-endian header length N | N bytes of UTF-8 JSON | data section. The JSON maps each
 * tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the data section)
 * and may hold "__metadata__": { string: string }. Every offset is checked against the byte length
 * before any view is made; every failure is a coded StudioError (ModelErrorCode E101–E105):
 *   E101 truncated  file < 8 bytes, header runs past the end, a tensor ends past the data section
 *   E102 header     header too large, not UTF-8, not a JSON object, an entry missing/mistyped fields
 *   E103 offsets    non-integer or reversed offsets, byte length ≠ numel·itemsize, overlapping tensors
 *   E104 dtype      any dtype but F32 / F16 / BF16, rejected by name
 *   E105 metadata   "__metadata__" not an object of strings
 */
import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';

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
  /** In JSON.parse enumeration order: header order, except that integer-like names come first. */
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

function fail(code: string, source: string, message: string, hint: string): never {
  throw new StudioError(code, `${source}: ${message}`, hint);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads the header from the first bytes of a file. Returns { complete: false, bytesNeeded } (the total
 * prefix length required) until the whole header is present, then the parsed header so a streaming
 * loader learns every tensor's offsets early. With `fileLength` (e.g. from Content-Length) offsets are
 * also checked against the data section; without it only their internal consistency is checked.
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

  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, dataStart));
    json = JSON.parse(text);
  } catch (e) {
    fail(ModelErrorCode.safetensorsHeader, source, `header (bytes 8..${dataStart}) is not valid UTF-8 JSON: ${(e as Error).message}`, HINT_REDOWNLOAD);
  }
  if (!isPlainObject(json)) fail(ModelErrorCode.safetensorsHeader, source, 'header JSON is not an object', HINT_REDOWNLOAD);

  const dataLength = known - dataStart; // Infinity when the file length is unknown
  const metadata = readMetadata(json['__metadata__'], source);
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    entries.set(name, readEntry(name, raw, dataLength, source));
  }
  checkNoOverlap(entries, source);
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

function readMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) fail(ModelErrorCode.safetensorsMetadata, source, `"__metadata__" is ${Array.isArray(raw) ? 'an array' : typeof raw}, expected an object of strings`, HINT_REDOWNLOAD);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') fail(ModelErrorCode.safetensorsMetadata, source, `"__metadata__" key '${k}' has a ${v === null ? 'null' : typeof v} value; only strings are allowed`, 're-export the file with string metadata values');
    out[k] = v;
  }
  return out;
}

function readEntry(name: string, raw: unknown, dataLength: number, source: string): SafetensorsEntry {
  const bad = (what: string): never => fail(ModelErrorCode.safetensorsHeader, source, `tensor '${name}' ${what}`, HINT_REDOWNLOAD);
  if (!isPlainObject(raw)) return bad('is not an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string') return bad('has no dtype string');
  if (!(SUPPORTED_DTYPES as readonly string[]).includes(dtype)) {
    fail(ModelErrorCode.safetensorsDtype, source, `tensor '${name}' has dtype ${dtype}; supported: ${SUPPORTED_DTYPES.join(', ')}`, 'convert the checkpoint to float32, float16 or bfloat16');
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    return bad(`has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number')) {
    return bad(`has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || begin > end) {
    fail(ModelErrorCode.safetensorsOffsets, source, `tensor '${name}' has data_offsets [${begin}, ${end}]; expected integers with 0 ≤ begin ≤ end`, HINT_REDOWNLOAD);
  }
  if (end > dataLength) {
    fail(ModelErrorCode.safetensorsTruncated, source, `tensor '${name}' ends at data offset ${end}, past the ${dataLength}-byte data section`, HINT_TRUNCATED);
  }
  const dims = shape as number[];
  const itemsize = DTYPE_BYTES[dtype as SafetensorsDtype];
  const expected = dims.reduce((a, d) => a * d, 1) * itemsize;
  if (end - begin !== expected) {
    fail(ModelErrorCode.safetensorsOffsets, source, `tensor '${name}' (${dtype} ${JSON.stringify(dims)}) spans ${end - begin} bytes [${begin}, ${end}], expected ${expected}`, HINT_REDOWNLOAD);
  }
  return { dtype: dtype as SafetensorsDtype, shape: [...dims], dataOffsets: [begin, end] };
}

function checkNoOverlap(entries: Map<string, SafetensorsEntry>, source: string): void {
  const ranges = [...entries].filter(([, e]) => e.dataOffsets[1] > e.dataOffsets[0]).sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < ranges.length; i++) {
    const [prevName, prev] = ranges[i - 1]!;
    const [name, cur] = ranges[i]!;
    if (cur.dataOffsets[0] < prev.dataOffsets[1]) {
      fail(
        ModelErrorCode.safetensorsOffsets,
        source,
        `tensors '${prevName}' [${prev.dataOffsets.join(', ')}] and '${name}' [${cur.dataOffsets.join(', ')}] overlap`,
        HINT_REDOWNLOAD,
      );
    }
  }
}
