// Global gradient L2 norm over many tensors, its clip scale, and a non-finite flag. Three entry
// points, selected by a template flag (each has its own bindings, numbered from 1):
//
// PARTIAL (entry `partial_main`), dispatched once per tensor: workgroup w (= wid.x + wid.y·nwg.x) owns
// elements [w·WG·ITEMS, (w+1)·WG·ITEMS) of x; invocation lid sums the squares of its ITEMS elements
// lid, lid + WG, … of that span, then a tree reduction. Any NaN/Inf element sets the flag.
//   x         (n) f32      one gradient tensor
//   partials  (≥ partialOffset + workgroups) f32: partials[partialOffset + w] = Σ x² over the span (=)
//   nonFinite (1) u32      atomically OR-ed with 1 when an element is NaN or ±Inf (never cleared here)
//
// FINAL (entry `final_main`): one workgroup; invocation lid sums partials lid, lid + WG, …, then a
// tree reduction.   total[0] += Σ partials[0 .. n)   (+=, accumulates)
//   partials (n) f32
//   total    (1) f32
//
// CLIP (entry `clip_main`): one invocation, torch.nn.utils.clip_grad_norm_'s arithmetic in f32:
//   norm[0]  = sqrt(sumSq[0])                                  (=)
//   scale[0] = min(maxNorm / (norm[0] + 1e-6), 1), or 1 when clip = 0 (=)
//   nonFinite[0] = 1 when the norm is NaN or Inf (also catches finite grads whose squares overflow)
//   sumSq (1) f32,  norm (1) f32,  scale (1) f32,  nonFinite (1) u32
//
// WG must be a power of two (tree reduction), at most 256.

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
#if PARTIAL
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> nonFinite: array<atomic<u32>>;
#endif
#if FINAL
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> total: array<f32>;
#endif
#if CLIP
@group(0) @binding(1) var<storage, read> sumSq: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm: array<f32>;
@group(0) @binding(3) var<storage, read_write> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> nonFiniteNorm: array<u32>;
#endif

override WG: u32 = 256;
override ITEMS: u32 = 8;

var<workgroup> wgSum: array<f32, WG>;

fn tree_sum(lid: u32, s: f32) -> f32 {
  wgSum[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { wgSum[lid] += wgSum[lid + stride]; }
    workgroupBarrier();
  }
  return wgSum[0];
}

#if PARTIAL
@compute @workgroup_size(WG)
fn partial_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  let start = w * WG * ITEMS;
  if (start >= p.n) { return; }
  var s = 0.0;
  var bad = false;
  for (var k = 0u; k < ITEMS; k++) {
    let i = start + k * WG + lid;
    if (i < p.n) {
      let g = x[i];
      // Exponent all ones = Inf or NaN; tested on the bits because fast-math may fold g != g away.
      bad = bad || (bitcast<u32>(g) & 0x7f800000u) == 0x7f800000u;
      s += g * g;
    }
  }
  if (bad) { atomicOr(&nonFinite[0], 1u); }
  let sum = tree_sum(lid, s);
  if (lid == 0u) { partials[p.partialOffset + w] = sum; }
}
#endif

#if FINAL
@compute @workgroup_size(WG)
fn final_main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.n; i += WG) { s += partials[i]; }
  let sum = tree_sum(lid, s);
  if (lid == 0u) { total[0] += sum; }
}
#endif

#if CLIP
@compute @workgroup_size(1)
fn clip_main() {
  let n = sqrt(sumSq[0]);
  norm[0] = n;
  if ((bitcast<u32>(n) & 0x7f800000u) == 0x7f800000u) { nonFiniteNorm[0] = 1u; }
  scale[0] = select(1.0, min(p.maxNorm / (n + 1e-6), 1.0), p.clip != 0u);
}
#endif
