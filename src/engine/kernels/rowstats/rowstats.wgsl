// Per-row statistics for visualisation (activation inspection): all inputs (N, C) row-major f32,
// all outputs (N) f32, overwritten (=).
//
// One workgroup owns one row; invocation k sums elements k, k + WG, k + 2·WG, … of that row, then the
// workgroup adds the WG partial sums in a tree in workgroup memory (WG must be a power of two).
// Rows come from gpu.grid(N), linearised as wid.x + wid.y·nwg.x; the row test depends only on the
// workgroup id, so the whole workgroup leaves together and barriers stay in uniform control flow.
//
// Entry points and bindings (all read_write: views of one arena buffer may share a buffer)
//   norm_mean:      x (N, C) → norm (N) = ‖x_r‖₂,  mean (N) = Σ x_r / C
//   cosine:         x (N, C), y (N, C) → cos (N) = ⟨x_r, y_r⟩ / (‖x_r‖·‖y_r‖), clamped to [−1, 1];
//                   defined as 0 when either norm is 0 (so a zero row still plots as a finite value)
//   rel_diff_norm:  a (N, C), b (N, C), c (N, C) → rel (N) = ‖a_r − b_r‖ / ‖c_r‖; 0 when ‖c_r‖ = 0
// Sums are f32: squares overflow for |values| above ~1e17, far beyond activations of trained models.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 256;

fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

#include workgroup_sum SUM_T=vec3<f32>

// ---------------------------------------------------------------- norm and mean
@group(0) @binding(1) var<storage, read_write> nm_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> nm_norm: array<f32>;
@group(0) @binding(3) var<storage, read_write> nm_mean: array<f32>;

@compute @workgroup_size(WG)
fn norm_mean(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.N) { return; }
  let base = row * p.C;
  var acc = vec3<f32>(0.0);
  for (var k = lid; k < p.C; k += WG) {
    let v = nm_x[base + k];
    acc += vec3<f32>(v * v, v, 0.0);
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    nm_norm[row] = sqrt(total.x);
    nm_mean[row] = total.y / f32(p.C);
  }
}

// ---------------------------------------------------------------- cosine similarity of matching rows
@group(0) @binding(1) var<storage, read_write> cs_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cs_y: array<f32>;
@group(0) @binding(3) var<storage, read_write> cs_cos: array<f32>;

@compute @workgroup_size(WG)
fn cosine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.N) { return; }
  let base = row * p.C;
  var acc = vec3<f32>(0.0);
  for (var k = lid; k < p.C; k += WG) {
    let a = cs_x[base + k];
    let b = cs_y[base + k];
    acc += vec3<f32>(a * b, a * a, b * b);
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    // sqrt before multiplying keeps the denominator in range when both squared norms are large.
    let den = sqrt(total.y) * sqrt(total.z);
    cs_cos[row] = select(0.0, clamp(total.x / den, -1.0, 1.0), den > 0.0);
  }
}

// ---------------------------------------------------------------- relative norm of a difference
@group(0) @binding(1) var<storage, read_write> rd_a: array<f32>;
@group(0) @binding(2) var<storage, read_write> rd_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> rd_c: array<f32>;
@group(0) @binding(4) var<storage, read_write> rd_rel: array<f32>;

@compute @workgroup_size(WG)
fn rel_diff_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.N) { return; }
  let base = row * p.C;
  var acc = vec3<f32>(0.0);
  for (var k = lid; k < p.C; k += WG) {
    let d = rd_a[base + k] - rd_b[base + k];
    let c = rd_c[base + k];
    acc += vec3<f32>(d * d, c * c, 0.0);
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    let den = sqrt(total.y);
    rd_rel[row] = select(0.0, sqrt(total.x) / den, den > 0.0);
  }
}
