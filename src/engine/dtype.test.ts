import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, encodeStorage, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, roundToStorage } from './dtype';

describe('16-bit conversions (round to nearest even, as torch does)', () => {
  it('bf16 of exact values and ties', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-2)).toBe(0xc000);
    // 1 + 2^-8 lies exactly between two bf16 values: ties go to the even mantissa (1.0).
    expect(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8))).toBe(1);
    // 1 + 3·2^-8 ties between 1+2^-7 and 1+2^-6: even is 1+2^-6.
    expect(bf16BitsToF32(f32ToBf16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
  });
  it('f16 normal, subnormal, overflow and ties', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f16BitsToF32(f32ToF16Bits(2 ** -24))).toBe(2 ** -24);
    expect(f16BitsToF32(f32ToF16Bits(1 + 2 ** -11))).toBe(1);
    expect(f16BitsToF32(f32ToF16Bits(-0.1))).toBeCloseTo(-0.0999755859375, 12);
  });
  it('packs two halves per word, low half first, padding odd counts', () => {
    const bytes = encodeStorage(new Float32Array([1, -2, 0.5]), 'bf16x2');
    expect(bytes.byteLength).toBe(8);
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, 2);
    expect(words[0]).toBe(((0xc000 << 16) | 0x3f80) >>> 0);
    expect(words[1]).toBe(0x3f00);
    expect(Array.from(roundToStorage(new Float32Array([1, -2, 0.5]), 'f16x2'))).toEqual([1, -2, 0.5]);
  });
});
