// Rotary position embedding on q or k, Hugging Face's rotate-half convention. For d < H = HS/2:
//   out[d]     = x[d]·cos − x[d+H]·sin
//   out[d + H] = x[d+H]·cos + x[d]·sin          angle = pos · inv_freq[d]
// p.sign = +1 rotates by +angle (forward); p.sign = −1 rotates by −angle, the inverse rotation, which is
// the backward pass (dx = R(−angle)·dy). Outputs are overwritten (=).
//
// One invocation owns one pair (d, d+H) of one head of one token: linear index
// i = ((row · NH) + head) · H + d, linearised from workgroups as (wid.x + wid.y·nwg.x)·WG + lid.
// It reads both elements before writing either, so IN_PLACE (out is also the input) is safe.
//
// Bindings (contiguous numbers; which exist depends on the flags)
//   pos      (rows) i32 (u32 positions < 2³¹ read the same), rows = B·T, row = b·T + t
//   out      (rows, NH, HS) f32 row-major; the input as well when IN_PLACE
//   inp      (rows, NH, HS) f32 row-major, only without IN_PLACE
//   invFreq  (H) f32, only with INV_FREQ; otherwise inv_freq[d] = exp2(−(2d/HS)·log2(θ)) in the shader
//            (a few ulp from Hugging Face's f32 value: fine for short positions, see rope.ts)
//
// cos/sin: the angle is rounded to f32 exactly as HF's f32 product pos·inv_freq, then evaluated with our
// own Cody–Waite range reduction and minimax polynomials (Cephes sinf/cosf), because WGSL only promises
// 2⁻¹¹ absolute accuracy for built-in sin/cos and nothing outside [−π, π]. Error ≈ 1e-7 for |angle| < 8192.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
#if IN_PLACE
#if INV_FREQ
@group(0) @binding(3) var<storage, read> invFreq: array<f32>;
#endif
#else
@group(0) @binding(3) var<storage, read> inp: array<f32>;
#if INV_FREQ
@group(0) @binding(4) var<storage, read> invFreq: array<f32>;
#endif
#endif

override WG: u32 = 256;

// (sin a, cos a) for f32 a, accurate to ~1e-7 for |a| < 8192 (degrading slowly beyond).
fn sincos(a: f32) -> vec2<f32> {
  let x = abs(a);
  var j = u32(x * 1.27323954473516); // octant: ⌊x / (π/4)⌋
  j += j & 1u; // round up to even, so r below lies in [−π/4, π/4]
  let y = f32(j);
  // π/4 = DP1 + DP2 + DP3, with DP1 short enough that y·DP1 is exact: extended-precision x − y·π/4.
  let r = ((x - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  // x = r + q·π/2 (mod 2π)
  let q = (j >> 1u) & 3u;
  var sc: vec2<f32>;
  switch q {
    case 0u: { sc = vec2<f32>(s, c); }
    case 1u: { sc = vec2<f32>(c, -s); }
    case 2u: { sc = vec2<f32>(-s, -c); }
    default: { sc = vec2<f32>(-c, s); }
  }
  return vec2<f32>(select(sc.x, -sc.x, a < 0.0), sc.y);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let H = p.HS / 2u;
  if (i >= p.rows * p.NH * H) { return; }
  let d = i % H;
  let rowHead = i / H; // row · NH + head
  let row = rowHead / p.NH;
#if INV_FREQ
  let inv = invFreq[d];
#else
  let inv = exp2(-(f32(2u * d) / f32(p.HS)) * p.log2Theta);
#endif
  let angle = f32(pos[row]) * inv;
  let sc = sincos(angle);
  let sn = sc.x * p.sign;
  let cs = sc.y;
  let i1 = rowHead * p.HS + d;
  let i2 = i1 + H;
#if IN_PLACE
  let x1 = out[i1];
  let x2 = out[i2];
#else
  let x1 = inp[i1];
  let x2 = inp[i2];
#endif
  out[i1] = x1 * cs - x2 * sn;
  out[i2] = x2 * cs + x1 * sn;
}
