// Embedding gather: out[n, c] = E[ids[n], c]. (The gradient of a trainable table: embeddingBackward.wgsl.)
//
// One invocation owns one output element (n, c), linear index i = n·C + c, linearised from workgroups as
// (wid.x + wid.y·nwg.x)·WG + lid.
//
// Bindings
//   p    uniform Params
//   ids  (N) u32; i32 ids are read as u32, so a negative id is a huge value and counts as out of range
//   E    (V, C) row-major, element type f32, f16, or two bf16/f16 halves per u32 word (bf16x2 / f16x2,
//        element k in word k >> 1, low half first), unpacked exactly as in matmul.wgsl
//   out  (N, C) f32 row-major, overwritten (=)
// An out-of-range id (≥ V, or negative as i32) reads nothing and writes a row of zeros.
// Row-split tables: E holds rows [rowStart, rowStart + V) of the full table; with partial = 1, ids
// outside that range leave their output row untouched, so one dispatch per part fills every row.
#if F16
enable f16;
#endif

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> E: {{E_ARRAY}};
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

#if E_F32
fn e_elem(k: u32) -> f32 { return E[k]; }
#elif E_F16
fn e_elem(k: u32) -> f32 { return f32(E[k]); }
#elif E_BF16X2
fn bf16_lo(w: u32) -> f32 { return bitcast<f32>(w << 16u); }
fn bf16_hi(w: u32) -> f32 { return bitcast<f32>(w & 0xffff0000u); }
fn e_elem(k: u32) -> f32 { let w = E[k >> 1u]; return select(bf16_lo(w), bf16_hi(w), (k & 1u) == 1u); }
#elif E_F16X2
fn e_elem(k: u32) -> f32 { return unpack2x16float(E[k >> 1u])[k & 1u]; }
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.N * p.C) { return; }
  let n = i / p.C;
  let c = i - n * p.C;
  let id = ids[n] - p.rowStart; // wraps to a huge value below the part: out of range
  if (p.partial != 0u && id >= p.V) { return; }
  var v = 0.0;
  if (id < p.V) { v = e_elem(id * p.C + c); }
  out[i] = v;
}
