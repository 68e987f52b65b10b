/**
 * safetensors writer producing the same bytes as the reference (Rust / Python `safetensors`) writer:
 * compact JSON header with "__metadata__" first (its keys sorted; the reference leaves them in hash
 * order), tensors ordered by dtype (F32, then BF16, then F16: the reference sorts by its Dtype enum,
 * descending) and then by name, data in that order with no gaps, header padded with spaces so the data
 * section starts at a multiple of 8. Names compare by UTF-16 code unit, which matches the reference's
 * byte order for every name without characters above U+FFFF.
 */
import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import { DTYPE_BYTES, SUPPORTED_DTYPES } from './parse';
import type { SafetensorsDtype } from './parse';

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** numel · itemsize bytes, little-endian */
  data: Uint8Array;
}

const DTYPE_RANK: Readonly<Record<SafetensorsDtype, number>> = { F32: 2, BF16: 1, F16: 0 };

function badInput(code: string, message: string): never {
  throw new StudioError(code, `cannot write safetensors: ${message}`, 'this is a bug in the caller; report it with the tensor name');
}

export function serializeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) badInput(ModelErrorCode.safetensorsHeader, `tensor name '${t.name}' is reserved or repeated`);
    seen.add(t.name);
    if (!SUPPORTED_DTYPES.includes(t.dtype)) badInput(ModelErrorCode.safetensorsDtype, `tensor '${t.name}' has dtype ${String(t.dtype)}; supported: ${SUPPORTED_DTYPES.join(', ')}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) badInput(ModelErrorCode.safetensorsHeader, `tensor '${t.name}' has shape ${JSON.stringify(t.shape)}`);
    const expected = t.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.length !== expected) badInput(ModelErrorCode.safetensorsOffsets, `tensor '${t.name}' (${t.dtype} ${JSON.stringify(t.shape)}) has ${t.data.length} bytes, expected ${expected}`);
  }
  const ordered = [...tensors].sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Built by hand: a JS object would move integer-like keys ("0", "12") to the front.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort();
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') badInput(ModelErrorCode.safetensorsMetadata, `metadata key '${k}' is not a string`);
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of ordered) {
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true); // u64 LE; the high word stays 0 (headers are far below 4 GiB)
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const t of ordered) {
    out.set(t.data, pos);
    pos += t.data.length;
  }
  return out;
}
