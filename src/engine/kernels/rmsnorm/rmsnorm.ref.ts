/**
 * CPU reference of RMSNorm over rows (the spec the kernels are tested against), in f64:
 *   y[n, c] = w[c] · x[n, c] · rstd[n],  rstd[n] = 1 / sqrt(mean_c x[n, c]² + eps)
 */
export function rmsnormForwardRef(x: ArrayLike<number>, w: ArrayLike<number>, N: number, C: number, eps: number): Float64Array {
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const rstd = rowRstd(x, n, C, eps);
    for (let c = 0; c < C; c++) y[n * C + c] = w[c]! * (x[n * C + c]! * rstd);
  }
  return y;
}

/**
 * Backward: dx = rstd·dy·w − x·rstd³·(Σ_c dy·w·x)/C  (overwritten, or added to `dxIn` when given);
 * dw = dwIn + Σ_n dy·x·rstd (parameter gradients accumulate).
 */
export function rmsnormBackwardRef(
  x: ArrayLike<number>, // (N, C)
  w: ArrayLike<number>, // (C)
  dy: ArrayLike<number>, // (N, C)
  N: number,
  C: number,
  eps: number,
  dwIn: ArrayLike<number>, // (C)
  dxIn?: ArrayLike<number>, // (N, C)
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(N * C);
  const dw = Float64Array.from(dwIn);
  for (let n = 0; n < N; n++) {
    const rstd = rowRstd(x, n, C, eps);
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dy[n * C + c]! * w[c]! * x[n * C + c]!;
    for (let c = 0; c < C; c++) {
      const i = n * C + c;
      dx[i] = rstd * dy[i]! * w[c]! - (x[i]! * rstd ** 3 * dot) / C + (dxIn ? dxIn[i]! : 0);
      dw[c] = dw[c]! + dy[i]! * x[i]! * rstd;
    }
  }
  return { dx, dw };
}

function rowRstd(x: ArrayLike<number>, n: number, C: number, eps: number): number {
  let ss = 0;
  for (let c = 0; c < C; c++) ss += x[n * C + c]! ** 2;
  return 1 / Math.sqrt(ss / C + eps);
}
