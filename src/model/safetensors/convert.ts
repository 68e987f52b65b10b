/**
 * Element conversions between safetensors tensor bytes and Float32Array. Bytes are little-endian, as
 * in the file; the host is assumed little-endian too (every platform that runs WebGPU is). Inputs may
 * be unaligned views into a larger file buffer: they are copied to an aligned buffer when needed.
 */
import { StudioError } from '../../engine/errors';
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../engine/dtype';
import { ModelErrorCode } from '../errors';
import { DTYPE_BYTES } from './parse';
import type { SafetensorsDtype } from './parse';

function aligned(data: Uint8Array, align: number): { buffer: ArrayBufferLike; byteOffset: number } {
  return data.byteOffset % align === 0 ? data : data.slice();
}

function checkLength(data: Uint8Array, dtype: SafetensorsDtype): number {
  const size = DTYPE_BYTES[dtype];
  if (data.length % size !== 0) {
    throw new StudioError(ModelErrorCode.safetensorsOffsets, `${data.length} bytes are not a whole number of ${dtype} elements`, 'pass the exact bytes of one tensor');
  }
  return data.length / size;
}

let f16Table: Float32Array | null = null;
/** All 65,536 half values, built once from dtype.ts (256 KiB; far faster than per-element decoding). */
function f16Lookup(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) f16Table[b] = f16BitsToF32(b);
  }
  return f16Table;
}

/** Decodes one tensor's bytes to a new Float32Array (F16 / BF16 are exact in f32). */
export function toFloat32(data: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const n = checkLength(data, dtype);
  if (dtype === 'F32') {
    const src = aligned(data, 4);
    return new Float32Array(src.buffer, src.byteOffset, n).slice();
  }
  const src = aligned(data, 2);
  const halves = new Uint16Array(src.buffer, src.byteOffset, n);
  if (dtype === 'BF16') {
    // bf16 is the top half of an f32: shift the bits into place (same as bf16BitsToF32, vectorised)
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = halves[i]! << 16;
    return new Float32Array(bits.buffer);
  }
  const table = f16Lookup();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = table[halves[i]!]!;
  return out;
}

/** Encodes f32 values as a tensor's bytes: F32 copies, BF16 / F16 round to nearest even. */
export function fromFloat32(values: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.slice().buffer);
  const halves = new Uint16Array(values.length);
  const encode = dtype === 'BF16' ? f32ToBf16Bits : f32ToF16Bits;
  for (let i = 0; i < values.length; i++) halves[i] = encode(values[i]!);
  return new Uint8Array(halves.buffer);
}

