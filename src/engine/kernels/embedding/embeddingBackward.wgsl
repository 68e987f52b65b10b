// Embedding backward (the gradient of a trainable table): dE[v, c] (+)= Σ_{n : ids[n] = v} dOut[n, c].
//
// No float atomics and a fixed summation order: the caller groups the token positions by id on the CPU
// (groupTokenIds in embeddingBackward.ts), so one workgroup owns one distinct id and sums its positions
// in ascending order. Deterministic, and O(N·C) work in all.
//
// Workgroup u (linearised as wid.x + wid.y·nwg.x) handles distinct id uniq[u]; its invocations stride
// over the C columns.
//
// Bindings
//   p       uniform Params
//   uniq    (U) u32 distinct ids, ascending
//   offsets (U + 1) u32: positions of uniq[u] are pos[offsets[u] .. offsets[u + 1])
//   pos     (N) u32 token positions grouped by id, ascending within a group
//   dOut    (N, C) f32 gradient of the gathered rows
//   dE      (V, C) f32 table gradient; rows of the part [rowStart, rowStart + V); overwritten (=) or
//           added to (+=, accumulate = 1). Ids outside the part (or ≥ the table) are skipped.
{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> uniq: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> pos: array<u32>;
@group(0) @binding(4) var<storage, read> dOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> dE: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let u = wid.x + wid.y * nwg.x;
  if (u >= p.U) { return; }
  let row = uniq[u] - p.rowStart; // wraps to a huge value below the part: skipped
  if (row >= p.V) { return; }
  let first = offsets[u];
  let last = offsets[u + 1u];
  for (var c = lid; c < p.C; c += WG) {
    var sum = 0.0;
    for (var i = first; i < last; i++) { sum += dOut[pos[i] * p.C + c]; }
    let k = row * p.C + c;
    if (p.accumulate != 0u) { dE[k] = dE[k] + sum; } else { dE[k] = sum; }
  }
}
