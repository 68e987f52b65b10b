/**
 * CPU reference of rotary embedding (the spec the kernel is tested against), Hugging Face rotate-half:
 * for d < H = HS/2, with angle = f32(pos · inv_freq[d]) rounded to f32 as HF's f32 product is,
 *   y[d] = x[d]·cos − x[d+H]·sin,  y[d+H] = x[d+H]·cos + x[d]·sin       (sign = +1, forward)
 * sign = −1 rotates by −angle: the inverse rotation, which is also the backward pass dx = Rᵀ·dy.
 * cos/sin and the products are computed in f64.
 */
export function ropeRef(
  x: ArrayLike<number>, // (rows, NH, HS), rows = B·T
  pos: ArrayLike<number>, // (rows)
  invFreq: ArrayLike<number>, // (HS/2) f32 values
  rows: number,
  NH: number,
  HS: number,
  sign: 1 | -1 = 1,
): Float64Array {
  const H = HS / 2;
  const y = new Float64Array(rows * NH * HS);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < H; d++) {
      const angle = Math.fround(Math.fround(pos[r]!) * invFreq[d]!);
      const cs = Math.cos(angle);
      const sn = sign * Math.sin(angle);
      for (let h = 0; h < NH; h++) {
        const i1 = (r * NH + h) * HS + d;
        const x1 = x[i1]!;
        const x2 = x[i1 + H]!;
        y[i1] = x1 * cs - x2 * sn;
        y[i1 + H] = x2 * cs + x1 * sn;
      }
    }
  }
  return y;
}
