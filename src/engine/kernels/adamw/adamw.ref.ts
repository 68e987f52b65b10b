/**
 * CPU reference of one AdamW step (the spec): torch.optim.AdamW's single-tensor update on f32
 * tensors, every operation rounded to f32 (Math.fround) in torch's order, with the Python-side scalars
 * computed in f64 and rounded to f32 where they meet a tensor.
 */
export interface AdamWRefHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

const f = Math.fround;

/** torch's lerp: self + w·(end − self) when |w| < 0.5, else end − (end − self)·(1 − w). */
function lerp(self: number, end: number, w: number): number {
  const diff = f(end - self);
  return Math.abs(w) < 0.5 ? f(self + f(w * diff)) : f(end - f(diff * f(1 - w)));
}

/** Updates param, m, v (n) in place with grad (n) · gradScale; step is 1-based. */
export function adamwRef(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, h: AdamWRefHyper, step: number, decay: boolean, gradScale = 1): void {
  // Python-side scalars (f64), rounded to f32 when applied to the f32 tensors.
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  const decayFactor = f(1 - h.lr * h.weightDecay);
  const w1 = f(1 - h.beta1);
  const beta2 = f(h.beta2);
  const oneMinusBeta2 = f(1 - h.beta2);
  const bc2Sqrt = f(Math.sqrt(bc2));
  const eps = f(h.eps);
  const negStep = f(-h.lr / bc1);
  const scale = f(gradScale);
  for (let i = 0; i < param.length; i++) {
    const g = f(grad[i]! * scale); // clip_grad_norm_: grad.mul_(clip_coef)
    let p = param[i]!;
    if (decay && h.weightDecay !== 0) p = f(p * decayFactor); // param.mul_(1 − lr·wd)
    const mi = lerp(m[i]!, g, w1); // exp_avg.lerp_(grad, 1 − β1)
    const vi = f(f(v[i]! * beta2) + f(f(oneMinusBeta2 * g) * g)); // exp_avg_sq.mul_(β2).addcmul_(g, g, value=1 − β2)
    const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps); // (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps)
    param[i] = f(p + f(f(negStep * mi) / denom)); // param.addcdiv_(exp_avg, denom, value=−lr/bc1)
    m[i] = mi;
    v[i] = vi;
  }
}
