// Tree sum over the workgroup of one {{SUM_T}} per invocation; every invocation gets the total.
// Needs the includer's `override WG` (a power of two ≤ 256). Call in uniform control flow. The
// pairwise order is fixed, so the result is the same on every run.
var<workgroup> wg_sum_scratch: array<{{SUM_T}}, 256>;

fn workgroup_sum(tid: u32, v: {{SUM_T}}) -> {{SUM_T}} {
  wg_sum_scratch[tid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (tid < s) { wg_sum_scratch[tid] += wg_sum_scratch[tid + s]; }
    workgroupBarrier();
  }
  let total = wg_sum_scratch[0];
  workgroupBarrier(); // nobody overwrites the first slot before everyone has read it
  return total;
}
