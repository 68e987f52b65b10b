/**
 * Element types of GPU tensors.
 * - f32: compute and trainable storage.
 * - f16: native half storage (needs the shader-f16 feature).
 * - bf16x2 / f16x2: two 16-bit values packed per u32 word, unpacked in the shader; these let frozen
 *   weights sit at half size on devices without shader-f16. Element i lives in word i>>1, low half
 *   first (little-endian, which is how the raw 16-bit bytes of a safetensors file already lie).
 * - u32 / i32: indices, token ids, masks.
 */
export type DType = 'f32' | 'f16' | 'bf16x2' | 'f16x2' | 'u32' | 'i32';

/** Storage forms a frozen weight may take. */
export type WeightStorage = 'f32' | 'f16' | 'bf16x2' | 'f16x2';

/** Bytes occupied by `count` elements (packed types round up to whole words). */
export function byteSize(dtype: DType, count: number): number {
  switch (dtype) {
    case 'f16':
      return count * 2;
    case 'bf16x2':
    case 'f16x2':
      return Math.ceil(count / 2) * 4;
    default:
      return count * 4;
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f32 → bf16 bits with round-to-nearest-even (what torch's .to(bfloat16) does). */
export function f32ToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return (u >>> 16) | 0x40; // NaN stays NaN
  const rounded = u + 0x7fff + ((u >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0]!;
}

/** f32 → IEEE half bits, round-to-nearest-even, with subnormals and overflow to inf. */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Rounds every value as the given storage would (identity for f32). */
export function roundToStorage(values: Float32Array, storage: WeightStorage): Float32Array {
  if (storage === 'f32') return values;
  const out = new Float32Array(values.length);
  const bf = storage === 'bf16x2';
  for (let i = 0; i < values.length; i++) {
    out[i] = bf ? bf16BitsToF32(f32ToBf16Bits(values[i]!)) : f16BitsToF32(f32ToF16Bits(values[i]!));
  }
  return out;
}

/**
 * Encodes f32 values as the bytes of a storage form, ready for upload. Packed forms pad an odd
 * count with a zero half so the buffer is whole words.
 */
export function encodeStorage(values: Float32Array, storage: WeightStorage): Uint8Array {
  if (storage === 'f32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const halves = new Uint16Array(storage === 'f16' ? values.length + (values.length & 1) : Math.ceil(values.length / 2) * 2);
  const bf = storage === 'bf16x2';
  for (let i = 0; i < values.length; i++) halves[i] = bf ? f32ToBf16Bits(values[i]!) : f32ToF16Bits(values[i]!);
  return new Uint8Array(halves.buffer);
}
