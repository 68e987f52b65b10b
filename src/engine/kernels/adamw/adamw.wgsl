// One AdamW step over a flat f32 parameter tensor, in torch.optim.AdamW's order of operations
// (single-tensor path of torch 2.x, with the scalars rounded to f32 as torch does for f32 tensors):
//   g     = grad · gradScale[0]                  (clip_grad_norm_ multiplies the grads in place first)
//   param = param · decayFactor                  (decayFactor = 1 − lr·wd, or exactly 1 without decay)
//   m     = lerp(m, g, 1 − β1)                   (torch's exp_avg.lerp_, with its two-sided formula)
//   v     = v · β2 + (1 − β2) · g · g            (exp_avg_sq.mul_(β2).addcmul_(g, g, value=1 − β2))
//   denom = sqrt(v) / sqrt(bc2) + eps
//   param = param + (−lr / bc1) · m / denom      (param.addcdiv_(m, denom, value=−lr/bc1); ATen's CPU
//                                                kernel evaluates value·t1/t2 left to right)
// One invocation owns one element i = (wid.x + wid.y·nwg.x)·WG + lid; a workgroup owns WG consecutive
// elements. param, m and v are updated in place (=); grad is only read.
//   param     (n) f32
//   grad      (n) f32
//   m         (n) f32  first moment (exp_avg)
//   v         (n) f32  second moment (exp_avg_sq)
//   gradScale (1) f32  clip scale (1 when not clipping), written by the caller or by the gradnorm kernels
//   skipIfSet (1) u32  with SKIP only: when nonzero (gradients not finite) param, m and v stay untouched

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> gradScale: array<f32>;
#if SKIP
@group(0) @binding(6) var<storage, read> skipIfSet: array<u32>;
#endif

override WG: u32 = 256;

// torch's lerp: self + w·(end − self) when |w| < 0.5, else end − (end − self)·(1 − w).
fn torch_lerp(self_: f32, end: f32, w: f32) -> f32 {
  let diff = end - self_;
  return select(end - diff * (1.0 - w), self_ + w * diff, abs(w) < 0.5);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
#if SKIP
  if (skipIfSet[0] != 0u) { return; }
#endif
  let g = grad[i] * gradScale[0];
  let decayed = param[i] * p.decayFactor;
  let mi = torch_lerp(m[i], g, p.oneMinusBeta1);
  let vi = v[i] * p.beta2 + p.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / p.bc2Sqrt + p.eps;
  param[i] = decayed + p.negStepSize * mi / denom;
}
