/**
 * CPU reference of LayerNorm over rows (the spec the kernels are tested against), in f64, PyTorch semantics:
 *   y[n, c] = (x[n, c] − mean[n]) · rstd[n] · w[c] + b[c],  rstd[n] = 1 / sqrt(var[n] + eps), var biased.
 */
export function layernormForwardRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, N: number, C: number, eps: number): Float64Array {
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const { mean, rstd } = rowStats(x, n, C, eps);
    for (let c = 0; c < C; c++) y[n * C + c] = (x[n * C + c]! - mean) * rstd * w[c]! + b[c]!;
  }
  return y;
}

/**
 * Backward, with xhat = (x − mean)·rstd and gw = dy·w:
 *   dx = rstd · (gw − mean_c gw − xhat · mean_c(gw·xhat))   (overwritten, or added to `dxIn` when given)
 *   dw = dwIn + Σ_n dy·xhat,  db = dbIn + Σ_n dy             (parameter gradients accumulate)
 */
export function layernormBackwardRef(
  x: ArrayLike<number>, // (N, C)
  w: ArrayLike<number>, // (C)
  dy: ArrayLike<number>, // (N, C)
  N: number,
  C: number,
  eps: number,
  dwIn: ArrayLike<number>, // (C)
  dbIn: ArrayLike<number>, // (C)
  dxIn?: ArrayLike<number>, // (N, C)
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(N * C);
  const dw = Float64Array.from(dwIn);
  const db = Float64Array.from(dbIn);
  for (let n = 0; n < N; n++) {
    const { mean, rstd } = rowStats(x, n, C, eps);
    let sumG = 0;
    let sumGX = 0;
    for (let c = 0; c < C; c++) {
      const gw = dy[n * C + c]! * w[c]!;
      sumG += gw;
      sumGX += gw * (x[n * C + c]! - mean) * rstd;
    }
    for (let c = 0; c < C; c++) {
      const i = n * C + c;
      const xhat = (x[i]! - mean) * rstd;
      dx[i] = rstd * (dy[i]! * w[c]! - sumG / C - (xhat * sumGX) / C) + (dxIn ? dxIn[i]! : 0);
      dw[c] = dw[c]! + dy[i]! * xhat;
      db[c] = db[c]! + dy[i]!;
    }
  }
  return { dx, dw, db };
}

function rowStats(x: ArrayLike<number>, n: number, C: number, eps: number): { mean: number; rstd: number } {
  let s = 0;
  for (let c = 0; c < C; c++) s += x[n * C + c]!;
  const mean = s / C;
  let ss = 0;
  for (let c = 0; c < C; c++) ss += (x[n * C + c]! - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(ss / C + eps) };
}
