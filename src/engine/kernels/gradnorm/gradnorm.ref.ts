/**
 * CPU reference of the global gradient norm and clip scale (the spec): the sum of squares in f64, and
 * torch.nn.utils.clip_grad_norm_'s scale with its f32 arithmetic:
 *   clip_coef = max_norm / (total_norm + 1e-6);  scale = min(clip_coef, 1)
 */
export function sumOfSquaresRef(tensors: readonly ArrayLike<number>[]): number {
  let s = 0;
  for (const t of tensors) for (let i = 0; i < t.length; i++) s += t[i]! * t[i]!;
  return s;
}

export function hasNonFiniteRef(tensors: readonly ArrayLike<number>[]): boolean {
  return tensors.some((t) => Array.prototype.some.call(t, (x: number) => !Number.isFinite(x)));
}

/** total_norm is the f32 norm; maxNorm undefined means no clipping (scale 1). */
export function clipScaleRef(totalNorm: number, maxNorm?: number): number {
  if (maxNorm === undefined) return 1;
  const f = Math.fround;
  return Math.min(f(f(maxNorm) / f(f(totalNorm) + f(1e-6))), 1);
}
