/**
 * CPU reference of the per-row statistics (f64). x, y, a, b, c are (N, C) row-major; every result is (N).
 * Undefined ratios are reported as 0: cos = 0 when either row norm is 0, rel = 0 when ‖c_r‖ = 0.
 */
type Vec = ArrayLike<number>;

function perRow(N: number, C: number, f: (base: number) => number): Float64Array {
  const out = new Float64Array(N);
  for (let r = 0; r < N; r++) out[r] = f(r * C);
  return out;
}

export function rowNormRef(x: Vec, N: number, C: number): Float64Array {
  return perRow(N, C, (base) => {
    let s = 0;
    for (let k = 0; k < C; k++) s += x[base + k]! ** 2;
    return Math.sqrt(s);
  });
}

export function rowMeanRef(x: Vec, N: number, C: number): Float64Array {
  return perRow(N, C, (base) => {
    let s = 0;
    for (let k = 0; k < C; k++) s += x[base + k]!;
    return s / C;
  });
}

/** ⟨x_r, y_r⟩ / (‖x_r‖·‖y_r‖), clamped to [−1, 1]; 0 when either norm is 0. */
export function rowCosineRef(x: Vec, y: Vec, N: number, C: number): Float64Array {
  return perRow(N, C, (base) => {
    let dot = 0;
    let xx = 0;
    let yy = 0;
    for (let k = 0; k < C; k++) {
      const a = x[base + k]!;
      const b = y[base + k]!;
      dot += a * b;
      xx += a * a;
      yy += b * b;
    }
    const den = Math.sqrt(xx) * Math.sqrt(yy);
    return den > 0 ? Math.min(1, Math.max(-1, dot / den)) : 0;
  });
}

/** ‖a_r − b_r‖ / ‖c_r‖; 0 when ‖c_r‖ = 0. */
export function rowRelDiffNormRef(a: Vec, b: Vec, c: Vec, N: number, C: number): Float64Array {
  return perRow(N, C, (base) => {
    let dd = 0;
    let cc = 0;
    for (let k = 0; k < C; k++) {
      dd += (a[base + k]! - b[base + k]!) ** 2;
      cc += c[base + k]! ** 2;
    }
    return cc > 0 ? Math.sqrt(dd) / Math.sqrt(cc) : 0;
  });
}
