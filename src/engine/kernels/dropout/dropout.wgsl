// Inverted dropout without a mask buffer: y = x · mask / (1 − p), where the mask is regenerated from a
// counter-based RNG keyed on (seed, step, tensorId, element index), so forward and backward (and the
// CPU reference, bit for bit) see the same mask.
//
// RNG: Philox-4x32-10 (Salmon et al. 2011, as in Random123 / cuRAND / PyTorch). Element e (its index
// in the whole tensor, e = offset + i) takes word e % 4 of
//     philox4x32_10(counter = (e / 4, step, tensorId, 0), key = (seed, 0)),
// and is kept when (word >> 8) ≥ threshold, i.e. when the 24-bit uniform u = (word >> 8) / 2^24 in
// [0, 1) is ≥ p (the wrapper passes threshold = round(p · 2^24)). Philox is a bijection of the counter
// for a fixed key, so distinct (block, step, tensorId) never share random words under one seed.
//
// One invocation owns one Philox block: the up to 4 elements e in [4b, 4b + 4) ∩ [offset, offset + n),
// b = offset / 4 + invocation index. One workgroup owns WG blocks; workgroups come from
// gpu.grid(ceil(blocks / WG)) and are linearised as wid.x + wid.y·nwg.x.
//
// Bindings (all read_write: views of one arena buffer may share a buffer, see elementwise.wgsl)
//   apply:    src (n) → dst (n)   dst = or += (accumulate bit 0)  src · mask · scale
//   in_place: buf (n)             buf = buf · mask · scale
// Dropped elements are written as exactly 0 (not 0 · x, so an infinite x does not give NaN).
// Element i of a binding is element offset + i of the whole (possibly split) tensor.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<storage, read_write> buf: array<f32>;

override WG: u32 = 256;

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// Full 32×32 → 64-bit product as (hi, lo), from 16-bit halves (WGSL has no 64-bit integers).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let hi = a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k = k + vec2<u32>(PHILOX_W0, PHILOX_W1); }
    let p0 = mulhilo(PHILOX_M0, c.x);
    let p1 = mulhilo(PHILOX_M1, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}

// The block this invocation owns: its first global element index, its random words, and whether it
// lies inside [offset, offset + n) at all.
struct Block {
  start: u32,
  words: vec4<u32>,
  live: bool,
}

fn block_of(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> Block {
  let j = (wid.x + wid.y * nwg.x) * WG + lid.x;
  let b = p.offset / 4u + j;
  var out: Block;
  out.start = b * 4u;
  out.live = j < (p.offset + p.n + 3u) / 4u - p.offset / 4u;
  if (out.live) { out.words = philox4x32_10(vec4<u32>(b, p.step, p.tensor_id, 0u), vec2<u32>(p.seed, 0u)); }
  return out;
}

fn dropped(x: f32, word: u32) -> f32 {
  return select(0.0, x * p.scale, (word >> 8u) >= p.threshold);
}

@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let blk = block_of(wid, nwg, lid);
  if (!blk.live) { return; }
  for (var w = 0u; w < 4u; w++) {
    let e = blk.start + w;
    if (e < p.offset || e - p.offset >= p.n) { continue; }
    let i = e - p.offset;
    let v = dropped(src[i], blk.words[w]);
    if ((p.accumulate & 1u) == 1u) { dst[i] = dst[i] + v; } else { dst[i] = v; }
  }
}

@compute @workgroup_size(WG)
fn in_place(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let blk = block_of(wid, nwg, lid);
  if (!blk.live) { return; }
  for (var w = 0u; w < 4u; w++) {
    let e = blk.start + w;
    if (e < p.offset || e - p.offset >= p.n) { continue; }
    let i = e - p.offset;
    buf[i] = dropped(buf[i], blk.words[w]);
  }
}
