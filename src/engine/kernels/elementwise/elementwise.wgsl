// Elementwise ops on flat f32 tensors of p.n elements (any shape, viewed as (n)).
//
// One invocation owns one element i; one workgroup owns WG consecutive elements. Workgroups are
// laid out by gpu.grid(ceil(n / WG)) over x and y, linearised as wid.x + wid.y·nwg.x, and the
// element index is bounds-checked against p.n.
//
// Every tensor binding is declared read_write, even when an entry point only reads it: WebGPU
// refuses one buffer bound read-only and writable in the same dispatch, and arena views of
// different tensors often share a buffer. The price: bindings of one dispatch must not overlap
// (WebGPU forbids aliased writable bindings), so no tensor may be passed twice and in-place
// updates have their own entry points (axpy, scale_in_place) that bind the tensor once.
//
// Bindings are numbered per entry point in the order the wrapper passes the tensors, so several
// names share a binding number; each entry point uses only its own set.
//
// Params
//   n           element count
//   alpha       scalar s of scale / axpy (unused elsewhere)
//   accumulate  bit k set: output k is accumulated (+=) instead of overwritten (=)
//               (backward entry points only; outputs numbered in binding order from 0)

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 256;

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid.x;
}

fn accumulates(k: u32) -> bool {
  return ((p.accumulate >> k) & 1u) == 1u;
}

// σ(x) without overflow: exp(−|x|) lies in (0, 1], so |x| of any size gives 0 or 1, never NaN.
fn sigmoid(x: f32) -> f32 {
  let t = exp(-abs(x));
  return select(t / (1.0 + t), 1.0 / (1.0 + t), x >= 0.0);
}

// d silu / dx = σ(x)·(1 + x·(1 − σ(x))), with 1 − σ(x) computed as σ(−x) for accuracy at large x.
fn silu_grad(x: f32) -> f32 {
  return sigmoid(x) * (1.0 + x * sigmoid(-x));
}

// ---------------------------------------------------------------- binary ops
// a (n), b (n) → out (n) =
@group(0) @binding(1) var<storage, read_write> bin_a: array<f32>;
@group(0) @binding(2) var<storage, read_write> bin_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> bin_out: array<f32>;

@compute @workgroup_size(WG)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  bin_out[i] = bin_a[i] + bin_b[i];
}

@compute @workgroup_size(WG)
fn sub(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  bin_out[i] = bin_a[i] - bin_b[i];
}

// ---------------------------------------------------------------- unary ops
// x (n) → y (n) =        scale: y = alpha·x; silu: y = x·σ(x); sigmoid: y = σ(x)
@group(0) @binding(1) var<storage, read_write> un_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> un_y: array<f32>;

@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  un_y[i] = p.alpha * un_x[i];
}

// y (n) = alpha · y, in place (binding 1 only)
@compute @workgroup_size(WG)
fn scale_in_place(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  un_x[i] = p.alpha * un_x[i];
}

// y (n) += alpha · x (n): residual adds and gradient accumulation (always accumulates)
@compute @workgroup_size(WG)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  un_y[i] = un_y[i] + p.alpha * un_x[i];
}

@compute @workgroup_size(WG)
fn silu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let x = un_x[i];
  un_y[i] = x * sigmoid(x);
}

@compute @workgroup_size(WG)
fn sigmoid_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  un_y[i] = sigmoid(un_x[i]);
}

// ---------------------------------------------------------------- unary backward
// silu:    in0 = x (n),         in1 = dy (n) → dx (n)  = or += (bit 0): dy·silu'(x)
// sigmoid: in0 = y = σ(x) (n),  in1 = dy (n) → dx (n)  = or += (bit 0): dy·y·(1 − y)
@group(0) @binding(1) var<storage, read_write> ub_in0: array<f32>;
@group(0) @binding(2) var<storage, read_write> ub_dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> ub_dx: array<f32>;

fn store_dx(i: u32, v: f32) {
  if (accumulates(0u)) { ub_dx[i] = ub_dx[i] + v; } else { ub_dx[i] = v; }
}

@compute @workgroup_size(WG)
fn silu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  store_dx(i, ub_dy[i] * silu_grad(ub_in0[i]));
}

@compute @workgroup_size(WG)
fn sigmoid_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let y = ub_in0[i];
  store_dx(i, ub_dy[i] * y * (1.0 - y));
}

// ---------------------------------------------------------------- SwiGLU: y = silu(g) ⊙ u
// forward:  g (n), u (n) → y (n) =
@group(0) @binding(1) var<storage, read_write> sw_g: array<f32>;
@group(0) @binding(2) var<storage, read_write> sw_u: array<f32>;
@group(0) @binding(3) var<storage, read_write> sw_y: array<f32>;

@compute @workgroup_size(WG)
fn swiglu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let g = sw_g[i];
  sw_y[i] = g * sigmoid(g) * sw_u[i];
}

// backward: g (n), u (n), dy (n) → dg (n) = or += (bit 0): dy·u·silu'(g)
//                                  du (n) = or += (bit 1): dy·silu(g)
@group(0) @binding(3) var<storage, read_write> swb_dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> swb_dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> swb_du: array<f32>;

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let g = sw_g[i];
  let u = sw_u[i];
  let dy = swb_dy[i];
  let dg = dy * u * silu_grad(g);
  let du = dy * g * sigmoid(g);
  if (accumulates(0u)) { swb_dg[i] = swb_dg[i] + dg; } else { swb_dg[i] = dg; }
  if (accumulates(1u)) { swb_du[i] = swb_du[i] + du; } else { swb_du[i] = du; }
}

// ---------------------------------------------------------------- gated mix: out = s + γ ⊙ (t − s)
// (the ShadowPEFT state update s' = s + γ ⊙ (t − s))
// forward:  s (n), gamma (n), t (n) → out (n) =
@group(0) @binding(1) var<storage, read_write> gm_s: array<f32>;
@group(0) @binding(2) var<storage, read_write> gm_gamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> gm_t: array<f32>;
@group(0) @binding(4) var<storage, read_write> gm_out: array<f32>;

@compute @workgroup_size(WG)
fn gated_mix_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let s = gm_s[i];
  gm_out[i] = s + gm_gamma[i] * (gm_t[i] - s);
}

// backward: s (n), gamma (n), t (n), dout (n) → ds (n)     = or += (bit 0): dout·(1 − γ)
//                                               dgamma (n) = or += (bit 1): dout·(t − s)
//                                               dt (n)     = or += (bit 2): dout·γ
@group(0) @binding(4) var<storage, read_write> gmb_dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> gmb_ds: array<f32>;
@group(0) @binding(6) var<storage, read_write> gmb_dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> gmb_dt: array<f32>;

@compute @workgroup_size(WG)
fn gated_mix_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let s = gm_s[i];
  let gamma = gm_gamma[i];
  let t = gm_t[i];
  let d = gmb_dout[i];
  let ds = d * (1.0 - gamma);
  let dgamma = d * (t - s);
  let dt = d * gamma;
  if (accumulates(0u)) { gmb_ds[i] = gmb_ds[i] + ds; } else { gmb_ds[i] = ds; }
  if (accumulates(1u)) { gmb_dgamma[i] = gmb_dgamma[i] + dgamma; } else { gmb_dgamma[i] = dgamma; }
  if (accumulates(2u)) { gmb_dt[i] = gmb_dt[i] + dt; } else { gmb_dt[i] = dt; }
}
