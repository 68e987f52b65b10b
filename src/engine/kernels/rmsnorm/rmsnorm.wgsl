// RMSNorm over rows: y[n, :] = w · (x[n, :] · rstd[n]),  rstd[n] = 1 / sqrt(mean_c(x[n, c]²) + eps)
// (Hugging Face order: normalise in f32, then multiply by the weight). Also used for Qwen3's q/k norm
// with C = HS over (B·T·NH, HS) rows.
//
// Entry points (one per variant; the #if blocks declare only the bindings that entry point uses)
//   forward          one workgroup owns one row (rows linearised as wid.x + wid.y·nwg.x); one invocation
//                    owns columns tid, tid+WG, …; the sum of squares is a workgroup tree reduction.
//     x      (N, C) f32 row-major
//     w      (C)    f32
//     y      (N, C) f32 row-major, overwritten (=); must not alias x
//   backward_rows    one workgroup owns the rows [g·RPG, (g+1)·RPG) of chunk g and walks them in order;
//                    per row it recomputes rstd and dot = Σ_c dy·w·x (one paired tree reduction), then
//       dx = rstd·dy·w − x·rstd³·dot / C
//                    and adds dy·x·rstd into its own partial row of dw.
//     x       (N, C) f32
//     w       (C)    f32
//     dy      (N, C) f32
//     dx      (N, C) f32, overwritten (=), or accumulated (+=) when p.accumulate = 1
//     partial (P, C) f32, row g = Σ over chunk g of dy·x·rstd, overwritten (=); P = ceil(N / RPG)
//   reduce_dw        one invocation owns one column c; sums the P partial rows in order (deterministic,
//                    no float atomics).
//     partial (P, C) f32
//     dw      (C)    f32, accumulated (+=)

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
#if FORWARD
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#elif BACKWARD_ROWS
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;
#elif REDUCE_DW
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
#endif

// Threads per workgroup: a power of two ≤ 256 (the tree reductions halve it).
override WG: u32 = 256;

#include workgroup_sum SUM_T=vec2<f32>

#if FORWARD
@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; } // uniform per workgroup, so the barriers below stay in uniform control flow
  let base = row * p.C;
  var ss = 0.0;
  for (var c = tid; c < p.C; c += WG) { let v = x[base + c]; ss += v * v; }
  let total = workgroup_sum(tid, vec2<f32>(ss, 0.0)).x;
  let rstd = inverseSqrt(total / f32(p.C) + p.eps);
  for (var c = tid; c < p.C; c += WG) { y[base + c] = w[c] * (x[base + c] * rstd); }
}
#endif

#if BACKWARD_ROWS
@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let g = wid.x;
  let r0 = g * p.rowsPerGroup;
  let r1 = min(r0 + p.rowsPerGroup, p.N);
  let invC = 1.0 / f32(p.C);
  for (var r = r0; r < r1; r++) {
    let base = r * p.C;
    var acc = vec2<f32>(0.0, 0.0); // (Σ x², Σ dy·w·x)
    for (var c = tid; c < p.C; c += WG) {
      let xv = x[base + c];
      acc += vec2<f32>(xv * xv, dy[base + c] * w[c] * xv);
    }
    let sums = workgroup_sum(tid, acc);
    let rstd = inverseSqrt(sums.x * invC + p.eps);
    let k = rstd * rstd * rstd * sums.y * invC;
    for (var c = tid; c < p.C; c += WG) {
      let xv = x[base + c];
      let g_out = dy[base + c];
      var d = rstd * g_out * w[c] - xv * k;
      if (p.accumulate != 0u) { d += dx[base + c]; }
      dx[base + c] = d;
      // This invocation alone owns partial[g, c], so the running sum needs no synchronisation.
      let pi = g * p.C + c;
      let prev = select(partial[pi], 0.0, r == r0);
      partial[pi] = prev + g_out * xv * rstd;
    }
  }
}
#endif

#if REDUCE_DW
@compute @workgroup_size(WG)
fn reduce_dw(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var s = 0.0;
  for (var g = 0u; g < p.P; g++) { s += partial[g * p.C + c]; }
  dw[c] += s;
}
#endif
