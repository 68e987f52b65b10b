// Cross entropy over the logits of one chunk of rows, and the sum of per-row losses.
// Two entry points, selected by a template flag (each has its own bindings, numbered from 1):
//
// ROWS (entry `rows_main`): one workgroup owns one row r of the chunk (r = wid.x + wid.y·nwg.x);
// one invocation owns the columns v ≡ lid (mod WG) of that row. It computes, for the row's target t
// (targets[rowOffset + r], already the label of this row: the causal shift is the caller's job),
//   lse = log Σ_v exp(logit[v])     (max-shifted online sum, then a tree reduction over the workgroup)
//   lossPerRow[rowOffset + r] = lse − logit[t]        (=, overwritten)
// and, with WRITE_GRAD, overwrites the logits row in place with
//   dlogits[v] = (softmax[v] − [v = t]) · scale       (=)
// Rows whose target is IGNORE (−100) get loss 0 and a zero gradient row. Any other target outside
// [0, V) gets a NaN loss (so a NaN guard trips) and a zero gradient row.
//   logits     (rows, V) row-major f32, the chunk's logits; dlogits on return with WRITE_GRAD
//   targets    (N) i32, the whole batch; this chunk reads [rowOffset, rowOffset + rows)
//   lossPerRow (N) f32, the whole batch; this chunk writes [rowOffset, rowOffset + rows)
//
// SUM (entry `sum_main`): a single workgroup; invocation lid sums elements i ≡ lid (mod WG), then a
// tree reduction; n = p.rows.   total[0] = scale · Σ_i terms[i]   (=, overwritten)
//   terms (n) f32
//   total (1) f32
//
// WG must be a power of two (tree reductions), at most 256.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
#if ROWS
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> lossPerRow: array<f32>;
#endif
#if SUM
@group(0) @binding(1) var<storage, read> terms: array<f32>;
@group(0) @binding(2) var<storage, read_write> total: array<f32>;
#endif

override WG: u32 = 256;
const IGNORE: i32 = -100;
// Lowest finite f32: a start value for a running max that never produces inf − inf = NaN.
const LOWEST: f32 = -3.4028234663852886e38;

var<workgroup> wgMax: array<f32, WG>;
var<workgroup> wgSum: array<f32, WG>;
var<workgroup> wgTarget: i32;

#if ROWS
@compute @workgroup_size(WG)
fn rows_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let row = p.rowOffset + r;
  let base = r * p.V;
  if (lid == 0u) { wgTarget = targets[row]; }
  // Uniform across the workgroup, so the early exit below keeps the barriers in uniform control flow.
  let t = workgroupUniformLoad(&wgTarget);
  if (t < 0 || u32(t) >= p.V) {
    // A var, not a constant: WGSL refuses NaN as a const-expression.
    var nanBits = 0x7fc00000u;
    if (lid == 0u) { lossPerRow[row] = select(bitcast<f32>(nanBits), 0.0, t == IGNORE); }
#if WRITE_GRAD
    for (var v = lid; v < p.V; v += WG) { logits[base + v] = 0.0; }
#endif
    return;
  }

  // Online max-shifted sum: s = Σ exp(x − m) with m the running max of this invocation's columns.
  var m = LOWEST;
  var s = 0.0;
  for (var v = lid; v < p.V; v += WG) {
    let x = logits[base + v];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  wgMax[lid] = m;
  wgSum[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = wgMax[lid];
      let m2 = wgMax[lid + stride];
      let mm = max(m1, m2);
      wgSum[lid] = wgSum[lid] * exp(m1 - mm) + wgSum[lid + stride] * exp(m2 - mm);
      wgMax[lid] = mm;
    }
    workgroupBarrier();
  }
  let lse = wgMax[0] + log(wgSum[0]);

  // The invocation that owns column t reads logit[t] before it (and only it) overwrites that column.
  let tu = u32(t);
  if (lid == tu % WG) { lossPerRow[row] = lse - logits[base + tu]; }
#if WRITE_GRAD
  for (var v = lid; v < p.V; v += WG) {
    let prob = exp(logits[base + v] - lse);
    logits[base + v] = (prob - select(0.0, 1.0, v == tu)) * p.scale;
  }
#endif
}
#endif

#if SUM
@compute @workgroup_size(WG)
fn sum_main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.rows; i += WG) { s += terms[i]; }
  wgSum[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { wgSum[lid] += wgSum[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { total[0] = p.scale * wgSum[0]; }
}
#endif
