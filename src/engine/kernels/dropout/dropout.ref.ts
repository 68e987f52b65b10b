/**
 * CPU reference of dropout.wgsl, bit-exact: the same Philox-4x32-10 words (Math.imul and >>> 0 for
 * u32 arithmetic), the same 24-bit threshold and the same single f32 multiply, so GPU and CPU masks
 * and outputs are identical, not merely close.
 */

/** What the mask depends on besides the element index. All u32. */
export interface DropoutKey {
  seed: number;
  /** Training step (or micro-step): a new mask every step. */
  step: number;
  /** Which dropout site (layer, slot, tensor): independent masks per site. */
  tensorId: number;
}

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** (hi, lo) of the exact 64-bit product of two u32, from 16-bit halves as the shader does. */
function mulhilo(a: number, b: number): [number, number] {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1; // each partial product < 2^32: exact in a double
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const hi = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
  return [hi, Math.imul(a, b) >>> 0];
}

/** Philox-4x32 with 10 rounds (Random123's philox4x32_10). */
export function philox4x32_10(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0) as [number, number, number, number];
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/** The u32 threshold and f32 scale the kernel receives for drop probability p in [0, 1]. */
export function dropoutConstants(p: number): { threshold: number; scale: number } {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout probability must lie in [0, 1], got ${p}`);
  return { threshold: Math.round(p * 2 ** 24), scale: p === 1 ? 0 : Math.fround(1 / (1 - p)) };
}

/** Keep mask (1 kept, 0 dropped) of elements offset … offset + n − 1 of a tensor. */
export function dropoutMaskRef(n: number, p: number, key: DropoutKey, offset = 0): Uint8Array {
  const { threshold } = dropoutConstants(p);
  const mask = new Uint8Array(n);
  let block = -1;
  let words: number[] = [];
  for (let i = 0; i < n; i++) {
    const e = offset + i;
    const b = Math.floor(e / 4);
    if (b !== block) {
      block = b;
      words = philox4x32_10([b, key.step, key.tensorId, 0], [key.seed, 0]);
    }
    mask[i] = words[e % 4]! >>> 8 >= threshold ? 1 : 0;
  }
  return mask;
}

/**
 * y = x · mask · scale (forward), and equally dx = dy · mask · scale (backward: the op is linear and
 * its own adjoint). With `prior` the result is added to it (the accumulate form), in f32.
 */
export function dropoutRef(x: Float32Array, p: number, key: DropoutKey, offset = 0, prior?: Float32Array): Float32Array {
  const { scale } = dropoutConstants(p);
  const mask = dropoutMaskRef(x.length, p, key, offset);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = mask[i] ? Math.fround(x[i]! * scale) : 0;
    out[i] = prior ? Math.fround(prior[i]! + v) : v;
  }
  return out;
}
