// Causal grouped-query attention, backward part 2: dk and dv, one key row per workgroup (no atomics).
//
// For key s of kv head g, summing over the query rows (t, h) that see it, h in g's group of NH / NKV
// query heads:   dv_s = Σ p · dout,   dk_s = scale · Σ p (dp − D) · q,
// with p = exp(q·k_s·scale − lse) recomputed, dp = dout·v_s, and D from attention_backward_dq.wgsl
// (which must run first). Query t sees key s when s ≤ qOffset + t, so t runs from max(0, s − qOffset).
// One workgroup owns key row (b, s, g): k_s and v_s sit in workgroup memory; per tile of WG queries,
// invocation i computes p and ds for query t0 + i, then every invocation adds the tile's terms to its
// slice of dk and dv, dims d = i, i + WG, … (2·DPT floats).
//
// Bindings
//   p      uniform Params
//   q      (B, Tq, NH, HS) f32
//   k      (B, maxT, NKV, HS) f32
//   v      (B, maxT, NKV, HS) f32
//   dout   (B, Tq, NH, HS) f32
//   lse    (B, NH, Tq) f32, from the forward
//   delta  (B, NH, Tq) f32, from attention_backward_dq.wgsl
//   dk     (B, maxT, NKV, HS) f32, overwritten (=); 0 for rows s ≥ Tk and masked keys
//   dv     (B, maxT, NKV, HS) f32, overwritten (=); 0 for rows s ≥ Tk and masked keys
//   mask   (B, maxT) u32, 1 = real key, 0 = padding; only when MASK
// Workgroups: B·maxT·NKV, linearised as wid.x + wid.y·nwg.x (gpu.grid); row = (b·maxT + s)·NKV + g.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
#if MASK
@group(0) @binding(9) var<storage, read> mask: array<u32>;
#endif

override WG: u32 = 64;
const HS_MAX: u32 = {{HS_MAX}}u;
const DPT: u32 = {{DPT}}u;

var<workgroup> k_row: array<f32, HS_MAX>;
var<workgroup> v_row: array<f32, HS_MAX>;
var<workgroup> tile_p: array<f32, WG>;
var<workgroup> tile_ds: array<f32, WG>;
var<workgroup> key_live: u32;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.B * p.maxT * p.NKV) { return; }
  let g = row % p.NKV;
  let s = (row / p.NKV) % p.maxT;
  let b = row / (p.NKV * p.maxT);
  let kBase = row * p.HS;

  // The key takes part when it exists (s < Tk), is real, and some query sees it (s ≤ qOffset + Tq − 1).
  // workgroupUniformLoad makes the (storage-read) mask test uniform, so the loops below may hold barriers.
  if (lid == 0u) {
    var live = s < p.Tk && s < p.qOffset + p.Tq;
#if MASK
    if (live) { live = mask[b * p.maxT + s] != 0u; }
#endif
    key_live = select(0u, 1u, live);
  }
  let live = workgroupUniformLoad(&key_live) != 0u;
  var dkAcc: array<f32, DPT>;
  var dvAcc: array<f32, DPT>;
  if (live) {
    for (var d = lid; d < p.HS; d += WG) {
      k_row[d] = k[kBase + d];
      v_row[d] = v[kBase + d];
    }
    workgroupBarrier();
    let tStart = select(0u, s - p.qOffset, s > p.qOffset);
    let group = p.NH / p.NKV;
    for (var hi = 0u; hi < group; hi++) {
      let h = g * group + hi;
      for (var t0 = tStart; t0 < p.Tq; t0 += WG) {
        let t = t0 + lid;
        var pr = 0.0;
        var ds = 0.0;
        if (t < p.Tq) {
          let qr = ((b * p.Tq + t) * p.NH + h) * p.HS;
          var qk = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < p.HS; d++) {
            qk += q[qr + d] * k_row[d];
            dp += dout[qr + d] * v_row[d];
          }
          let rowStat = (b * p.NH + h) * p.Tq + t;
          pr = exp(qk * p.scale - lse[rowStat]);
          ds = pr * (dp - delta[rowStat]);
        }
        tile_p[lid] = pr;
        tile_ds[lid] = ds;
        workgroupBarrier();
        let nj = min(WG, p.Tq - t0);
        for (var j = 0u; j < nj; j++) {
          let pj = tile_p[j];
          if (pj > 0.0) {
            let dsj = tile_ds[j];
            let qr = ((b * p.Tq + t0 + j) * p.NH + h) * p.HS;
            for (var i = 0u; i < DPT; i++) {
              let d = lid + i * WG;
              if (d < p.HS) {
                dvAcc[i] += pj * dout[qr + d];
                dkAcc[i] += dsj * q[qr + d];
              }
            }
          }
        }
        workgroupBarrier(); // everyone is done with the tile before the next one is written
      }
    }
  }
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * WG;
    if (d < p.HS) {
      dk[kBase + d] = dkAcc[i] * p.scale;
      dv[kBase + d] = dvAcc[i];
    }
  }
}
