// LayerNorm over rows (PyTorch semantics, biased variance):
//   y[n, c] = (x[n, c] − mean[n]) · rstd[n] · w[c] + b[c],  rstd[n] = 1 / sqrt(var[n] + eps)
// mean and var are computed in two passes (mean first, then Σ(x − mean)²), as stable as PyTorch's.
//
// Entry points (one per variant; the #if blocks declare only the bindings that entry point uses)
//   forward          one workgroup owns one row (rows linearised as wid.x + wid.y·nwg.x); one invocation
//                    owns columns tid, tid+WG, …; sums are workgroup tree reductions.
//     x      (N, C) f32 row-major
//     w      (C)    f32
//     b      (C)    f32
//     y      (N, C) f32 row-major, overwritten (=); must not alias x
//   backward_rows    one workgroup owns the rows [g·RPG, (g+1)·RPG) of chunk g and walks them in order;
//                    per row it recomputes mean and rstd, with xhat = (x − mean)·rstd and gw = dy·w:
//       dx = rstd · (gw − mean_c(gw) − xhat · mean_c(gw·xhat))
//                    and adds dy·xhat and dy into its own partial rows of dw and db.
//     x       (N, C) f32
//     w       (C)    f32
//     dy      (N, C) f32
//     dx      (N, C) f32, overwritten (=), or accumulated (+=) when p.accumulate = 1
//     partial (2, P, C) f32: [0, g] = Σ over chunk g of dy·xhat, [1, g] = Σ of dy; overwritten (=)
//   reduce_dwdb      one invocation owns one column c; sums the P partial rows in order (deterministic,
//                    no float atomics).
//     partial (2, P, C) f32
//     dw      (C) f32, accumulated (+=)
//     db      (C) f32, accumulated (+=)

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
#if FORWARD
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
#elif BACKWARD_ROWS
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;
#elif REDUCE_DWDB
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<storage, read_write> db: array<f32>;
#endif

// Threads per workgroup: a power of two ≤ 256 (the tree reductions halve it).
override WG: u32 = 256;

#include workgroup_sum SUM_T=vec3<f32>

#if !REDUCE_DWDB
// mean of row `base` (first pass over the row).
fn row_mean(tid: u32, base: u32) -> f32 {
  var s = 0.0;
  for (var c = tid; c < p.C; c += WG) { s += x[base + c]; }
  return workgroup_sum(tid, vec3<f32>(s, 0.0, 0.0)).x / f32(p.C);
}
#endif

#if FORWARD
@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; } // uniform per workgroup, so the barriers below stay in uniform control flow
  let base = row * p.C;
  let mean = row_mean(tid, base);
  var ss = 0.0;
  for (var c = tid; c < p.C; c += WG) { let d = x[base + c] - mean; ss += d * d; }
  let rstd = inverseSqrt(workgroup_sum(tid, vec3<f32>(ss, 0.0, 0.0)).x / f32(p.C) + p.eps);
  for (var c = tid; c < p.C; c += WG) { y[base + c] = (x[base + c] - mean) * rstd * w[c] + b[c]; }
}
#endif

#if BACKWARD_ROWS
@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let g = wid.x;
  let r0 = g * p.rowsPerGroup;
  let r1 = min(r0 + p.rowsPerGroup, p.N);
  let invC = 1.0 / f32(p.C);
  let dbBase = p.P * p.C; // start of the db partials
  for (var r = r0; r < r1; r++) {
    let base = r * p.C;
    let mean = row_mean(tid, base);
    var acc = vec3<f32>(0.0); // (Σ (x − mean)², Σ gw, Σ gw·(x − mean))
    for (var c = tid; c < p.C; c += WG) {
      let d = x[base + c] - mean;
      let gw = dy[base + c] * w[c];
      acc += vec3<f32>(d * d, gw, gw * d);
    }
    let sums = workgroup_sum(tid, acc);
    let rstd = inverseSqrt(sums.x * invC + p.eps);
    let meanG = sums.y * invC;
    let meanGX = sums.z * rstd * invC; // mean(gw · xhat)
    for (var c = tid; c < p.C; c += WG) {
      let i = base + c;
      let xhat = (x[i] - mean) * rstd;
      let g_out = dy[i];
      var d = rstd * (g_out * w[c] - meanG - xhat * meanGX);
      if (p.accumulate != 0u) { d += dx[i]; }
      dx[i] = d;
      // This invocation alone owns partial[·, g, c], so the running sums need no synchronisation.
      let pi = g * p.C + c;
      let first = r == r0;
      partial[pi] = select(partial[pi], 0.0, first) + g_out * xhat;
      partial[dbBase + pi] = select(partial[dbBase + pi], 0.0, first) + g_out;
    }
  }
}
#endif

#if REDUCE_DWDB
@compute @workgroup_size(WG)
fn reduce_dwdb(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var g = 0u; g < p.P; g++) {
    sw += partial[g * p.C + c];
    sb += partial[(p.P + g) * p.C + c];
  }
  dw[c] += sw;
  db[c] += sb;
}
#endif
