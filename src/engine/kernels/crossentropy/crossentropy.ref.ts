/**
 * CPU reference of the fused output head + cross entropy (the spec the kernels are tested against),
 * entirely in f64 with the full (N, V) logits:
 *   logits (N, V) = h · Eᵀ
 *   lossPerRow[n] = logsumexp(logits[n]) − logits[n, targets[n]]     (0 where targets[n] = −100)
 *   dlogits[n]    = (softmax(logits[n]) − onehot(targets[n])) · scale  (0 where ignored)
 *   dh (N, C)     = dlogits · E
 * targets[n] is already the label of row n (the causal shift is the caller's). A target outside
 * [0, V) other than −100 gives a NaN loss and a zero gradient row, as the kernel does.
 */
export const IGNORE_INDEX = -100;

export interface CrossEntropyRef {
  /** (N, V) */
  logits: Float64Array;
  /** (N) */
  lossPerRow: Float64Array;
  /** (N, C) */
  dh: Float64Array;
}

/**
 * @param h       (N, C)
 * @param E       (V, C), already rounded as its storage would be
 * @param targets (N)
 */
export function crossEntropyRef(h: ArrayLike<number>, E: ArrayLike<number>, targets: ArrayLike<number>, N: number, C: number, V: number, scale: number): CrossEntropyRef {
  const logits = new Float64Array(N * V);
  const lossPerRow = new Float64Array(N);
  const dh = new Float64Array(N * C);
  const dl = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += h[n * C + c]! * E[v * C + c]!;
      logits[n * V + v] = acc;
    }
    const t = targets[n]!;
    if (t < 0 || t >= V) {
      lossPerRow[n] = t === IGNORE_INDEX ? 0 : NaN;
      continue;
    }
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[n * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[n * V + v]! - max);
    const lse = max + Math.log(sum);
    lossPerRow[n] = lse - logits[n * V + t]!;
    for (let v = 0; v < V; v++) dl[v] = (Math.exp(logits[n * V + v]! - lse) - (v === t ? 1 : 0)) * scale;
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let v = 0; v < V; v++) acc += dl[v]! * E[v * C + c]!;
      dh[n * C + c] = acc;
    }
  }
  return { logits, lossPerRow, dh };
}

/** The scalar loss the gradient belongs to: scale · Σ_n lossPerRow[n]. */
export function crossEntropyLossRef(lossPerRow: ArrayLike<number>, scale: number): number {
  let s = 0;
  for (let i = 0; i < lossPerRow.length; i++) s += lossPerRow[i]!;
  return scale * s;
}
