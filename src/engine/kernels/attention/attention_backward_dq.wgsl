// Causal grouped-query attention, backward part 1: dq, and the row dot products D for part 2.
//
// With p = exp(score − lse) recomputed per key (score = q·k·scale), dp = dout·v and
// D = Σ_d dout ⊙ out:   dq = scale · Σ_s p (dp − D) · k_s.
// One workgroup owns one query row (b, t, h) and streams its visible keys in tiles of WG keys:
// invocation i computes ds = p (dp − D) for key s0 + i, then every invocation adds Σ_j ds_j · k_j to
// its own slice of dq, dims d = i, i + WG, … (DPT floats). No atomics: dk and dv are summed by
// attention_backward_dkdv.wgsl, one key row per workgroup.
// Visibility is the forward's: s ≤ qOffset + t, s < Tk, mask[b, s] = 1; hidden keys are never read.
//
// Bindings
//   p      uniform Params
//   q      (B, Tq, NH, HS) f32
//   k      (B, maxT, NKV, HS) f32
//   v      (B, maxT, NKV, HS) f32
//   out    (B, Tq, NH, HS) f32, the forward output
//   dout   (B, Tq, NH, HS) f32
//   lse    (B, NH, Tq) f32, from the forward
//   delta  (B, NH, Tq) f32, overwritten (=) with D of each row
//   dq     (B, Tq, NH, HS) f32, overwritten (=)
//   mask   (B, maxT) u32, 1 = real key, 0 = padding; only when MASK
// Workgroups: B·Tq·NH, linearised as wid.x + wid.y·nwg.x (gpu.grid); row = (b·Tq + t)·NH + h.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> out: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
#if MASK
@group(0) @binding(9) var<storage, read> mask: array<u32>;
#endif

override WG: u32 = 64;
const HS_MAX: u32 = {{HS_MAX}}u;
const DPT: u32 = {{DPT}}u;

var<workgroup> q_row: array<f32, HS_MAX>;
var<workgroup> dout_row: array<f32, HS_MAX>;
var<workgroup> tile_ds: array<f32, WG>;

#include key_visible

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.B * p.Tq * p.NH) { return; }
  let h = row % p.NH;
  let t = (row / p.NH) % p.Tq;
  let b = row / (p.NH * p.Tq);
  let kvh = h / (p.NH / p.NKV);
  let qBase = row * p.HS;
  let rowStat = (b * p.NH + h) * p.Tq + t; // index into lse / delta

  // D = dout · out: partial sums per invocation, then summed by every invocation in the same order
  var part = 0.0;
  for (var d = lid; d < p.HS; d += WG) {
    let g = dout[qBase + d];
    q_row[d] = q[qBase + d];
    dout_row[d] = g;
    part += g * out[qBase + d];
  }
  tile_ds[lid] = part;
  workgroupBarrier();
  var D = 0.0;
  for (var j = 0u; j < WG; j++) { D += tile_ds[j]; }
  workgroupBarrier(); // everyone has read tile_ds before it is reused
  if (lid == 0u) { delta[rowStat] = D; }
  let L = lse[rowStat];

  let nKeys = min(p.qOffset + t + 1u, p.Tk);
  let kvStride = p.NKV * p.HS;
  let kvBase = b * p.maxT * kvStride + kvh * p.HS;
  var acc: array<f32, DPT>;
  for (var s0 = 0u; s0 < nKeys; s0 += WG) {
    let s = s0 + lid;
    var ds = 0.0;
    if (s < nKeys && key_visible(b, s)) {
      let r = kvBase + s * kvStride;
      var qk = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.HS; d++) {
        qk += q_row[d] * k[r + d];
        dp += dout_row[d] * v[r + d];
      }
      ds = exp(qk * p.scale - L) * (dp - D);
    }
    tile_ds[lid] = ds;
    workgroupBarrier();
    let nj = min(WG, nKeys - s0);
    for (var j = 0u; j < nj; j++) {
      let dsj = tile_ds[j];
      if (dsj != 0.0) { // hidden keys have ds exactly 0: their k is never read
        let r = kvBase + (s0 + j) * kvStride;
        for (var i = 0u; i < DPT; i++) {
          let d = lid + i * WG;
          if (d < p.HS) { acc[i] += dsj * k[r + d]; }
        }
      }
    }
    workgroupBarrier(); // everyone is done with tile_ds before the next tile writes it
  }
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * WG;
    if (d < p.HS) { dq[qBase + d] = acc[i] * p.scale; }
  }
}
