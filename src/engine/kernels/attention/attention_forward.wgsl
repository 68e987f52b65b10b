// Causal grouped-query attention, forward, flash style: online softmax over key tiles, so no (T, T)
// matrix is ever formed and memory stays O(T·HS).
//
// One workgroup owns one query row (b, t, h) and streams the keys visible to it in tiles of WG keys.
// Per tile, invocation i scores key s0 + i (an HS-long dot product with the query row held in
// workgroup memory); then every invocation updates the running max m and sum l (kept identical in all
// invocations) and its own slice of the HS-wide accumulator, dims d = i, i + WG, … (DPT floats).
// Query head h reads kv head h / (NH / NKV). Query t sits at absolute position qOffset + t and sees
// key s when s ≤ qOffset + t, s < Tk and mask[b, s] = 1 (KV-cache form: qOffset = pastLen,
// Tk = pastLen + Tq, k/v rows beyond Tk are never read).
//
// Bindings
//   p     uniform Params
//   q     (B, Tq, NH, HS) f32
//   k     (B, maxT, NKV, HS) f32; rows s < Tk are read
//   v     (B, maxT, NKV, HS) f32; rows s < Tk are read
//   out   (B, Tq, NH, HS) f32, overwritten (=); 0 for a row that sees no key
//   lse   (B, NH, Tq) f32, overwritten (=): log Σ exp(score) of the row (for the backward); 0 for a
//         row that sees no key
//   mask  (B, maxT) u32, 1 = real key, 0 = padding; only when MASK
// Workgroups: B·Tq·NH, linearised as wid.x + wid.y·nwg.x (gpu.grid); row = (b·Tq + t)·NH + h.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
#if MASK
@group(0) @binding(6) var<storage, read> mask: array<u32>;
#endif

override WG: u32 = 64;
// HS rounded up to the tile class, and accumulator dims per invocation (DPT · WG = HS_MAX).
const HS_MAX: u32 = {{HS_MAX}}u;
const DPT: u32 = {{DPT}}u;
// "No score": finite, so exp(NEG − m) is 0 and exp(NEG − NEG) is 1, never inf − inf.
const NEG: f32 = -3.0e38;

var<workgroup> q_row: array<f32, HS_MAX>;
var<workgroup> tile_score: array<f32, WG>;
var<workgroup> tile_prob: array<f32, WG>;

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
  for (var d = lid; d < p.HS; d += WG) { q_row[d] = q[qBase + d]; }
  workgroupBarrier();

  let nKeys = min(p.qOffset + t + 1u, p.Tk); // causal: keys 0 ..< nKeys
  let kvStride = p.NKV * p.HS; // elements between consecutive key rows
  let kvBase = b * p.maxT * kvStride + kvh * p.HS;
  var m = NEG;
  var l = 0.0;
  var acc: array<f32, DPT>;
  for (var s0 = 0u; s0 < nKeys; s0 += WG) {
    // 1. one key per invocation
    let s = s0 + lid;
    var score = NEG;
    if (s < nKeys && key_visible(b, s)) {
      let kr = kvBase + s * kvStride;
      var dot = 0.0;
      for (var d = 0u; d < p.HS; d++) { dot += q_row[d] * k[kr + d]; }
      score = dot * p.scale;
    }
    tile_score[lid] = score;
    workgroupBarrier();
    // 2. tile max (every invocation reads the same values in the same order, so m stays identical)
    var mTile = NEG;
    for (var j = 0u; j < WG; j++) { mTile = max(mTile, tile_score[j]); }
    let mNew = max(m, mTile);
    tile_prob[lid] = select(0.0, exp(score - mNew), score > NEG);
    workgroupBarrier();
    // 3. rescale and accumulate; hidden keys have probability exactly 0 and are skipped, so their v is never read
    let alpha = exp(m - mNew);
    for (var i = 0u; i < DPT; i++) { acc[i] *= alpha; }
    var lTile = 0.0;
    let nj = min(WG, nKeys - s0);
    for (var j = 0u; j < nj; j++) {
      let pj = tile_prob[j];
      if (pj > 0.0) {
        lTile += pj;
        let vr = kvBase + (s0 + j) * kvStride;
        for (var i = 0u; i < DPT; i++) {
          let d = lid + i * WG;
          if (d < p.HS) { acc[i] += pj * v[vr + d]; }
        }
      }
    }
    l = l * alpha + lTile;
    m = mNew;
    // The next tile writes tile_score only after all have passed the barrier above (done reading it)
    // and tile_prob only after its own first barrier (all done with step 3).
  }

  let seen = l > 0.0; // false only when no visible key: output 0 and a finite lse
  let inv = select(0.0, 1.0 / l, seen);
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * WG;
    if (d < p.HS) { out[qBase + d] = acc[i] * inv; }
  }
  if (lid == 0u) { lse[(b * p.NH + h) * p.Tq + t] = select(0.0, m + log(l), seen); }
}
