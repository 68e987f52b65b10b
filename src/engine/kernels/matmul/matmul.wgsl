// Batched matmul: C[b] (M, N) = alpha · op(A[b]) (M, K) · op(B[b]) (K, N)   [+ C[b] when accumulate = 1]
//
// One invocation owns a 4×4 block of C (rows m0..m0+3, cols n0..n0+3) and walks K four at a time,
// holding the block in registers (register tiling, no shared memory: on software drivers shared-memory
// staging measured several times slower). One workgroup owns (WG_Y·4) rows × (WG_X·4) cols of one batch.
//
// Bindings
//   p          uniform Params
//   A (f32)    op(A) = A      stored (M, K) row-major, or op(A) = Aᵀ stored (K, M) when TRANS_A
//   B (store)  op(B) = B      stored (K, N) row-major, or op(B) = Bᵀ stored (N, K) when TRANS_B
//              element type f32, f16, or two bf16/f16 halves per u32 word (bf16x2 / f16x2)
//   C (f32)    (M, N) row-major
//   bias (f32) (N), only with BIAS: added to every row of the result (y = x·Wᵀ + b)
// Batch b starts at element offsetA + b·strideA / b·strideB / offsetC + b·strideC (a stride of 0
// broadcasts). Stored rows of A are lda elements apart and rows of C ldc apart, so a column block of a
// wider matrix can be read or written in place (a row-split head writes its slice of the logits).
// A_VEC4 / B_VEC4: the stored rows of that operand are a multiple of 4 elements, so loads are vec4.
#if F16
enable f16;
#endif

{{PARAMS}}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: {{A_ARRAY}};
@group(0) @binding(2) var<storage, read> B: {{B_ARRAY}};
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
#if BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

override WG_X: u32 = 8;
override WG_Y: u32 = 8;

// ---- B element fetch by element index (scalar) or by vec4 index (4 consecutive elements)
#if B_F32
#if B_VEC4
fn b_vec(i4: u32) -> vec4<f32> { return B[i4]; }
#else
fn b_elem(i: u32) -> f32 { return B[i]; }
#endif
#elif B_F16
#if B_VEC4
fn b_vec(i4: u32) -> vec4<f32> { return vec4<f32>(B[i4]); }
#else
fn b_elem(i: u32) -> f32 { return f32(B[i]); }
#endif
#elif B_BF16X2
fn bf16_lo(w: u32) -> f32 { return bitcast<f32>(w << 16u); }
fn bf16_hi(w: u32) -> f32 { return bitcast<f32>(w & 0xffff0000u); }
#if B_VEC4
fn b_vec(i4: u32) -> vec4<f32> { let w = B[i4]; return vec4<f32>(bf16_lo(w.x), bf16_hi(w.x), bf16_lo(w.y), bf16_hi(w.y)); }
#else
fn b_elem(i: u32) -> f32 { let w = B[i >> 1u]; return select(bf16_lo(w), bf16_hi(w), (i & 1u) == 1u); }
#endif
#elif B_F16X2
#if B_VEC4
fn b_vec(i4: u32) -> vec4<f32> { let w = B[i4]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }
#else
fn b_elem(i: u32) -> f32 { return unpack2x16float(B[i >> 1u])[i & 1u]; }
#endif
#endif

// ---- op(A) block: column j = A[m0..m0+3, k0+j] (zero outside the matrix)
fn load_a(base: u32, m0: u32, k0: u32) -> mat4x4<f32> {
#if TRANS_A
  // stored (K, M): each k is a contiguous run over m
  var cols: mat4x4<f32>;
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      let row = base + k * p.lda;
#if A_VEC4
      cols[j] = A[(row + m0) / 4u];
#else
      for (var i = 0u; i < 4u; i++) { if (m0 + i < p.M) { cols[j][i] = A[row + m0 + i]; } }
#endif
    }
  }
  return cols;
#else
  // stored (M, K): each m is a contiguous run over k; load rows, then transpose
  var rows: mat4x4<f32>;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m < p.M) {
      let row = base + m * p.lda;
#if A_VEC4
      rows[i] = A[(row + k0) / 4u];
#else
      for (var j = 0u; j < 4u; j++) { if (k0 + j < p.K) { rows[i][j] = A[row + k0 + j]; } }
#endif
    }
  }
  return transpose(rows);
#endif
}

// ---- op(B) block: column j = B[k0+j, n0..n0+3] (zero outside the matrix)
fn load_b(base: u32, k0: u32, n0: u32) -> mat4x4<f32> {
#if TRANS_B
  // stored (N, K): each n is a contiguous run over k; load rows, then transpose
  var rows: mat4x4<f32>;
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + i;
    if (n < p.N) {
      let row = base + n * p.K;
#if B_VEC4
      rows[i] = b_vec((row + k0) / 4u);
#else
      for (var j = 0u; j < 4u; j++) { if (k0 + j < p.K) { rows[i][j] = b_elem(row + k0 + j); } }
#endif
    }
  }
  return transpose(rows);
#else
  // stored (K, N): each k is a contiguous run over n
  var cols: mat4x4<f32>;
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      let row = base + k * p.N;
#if B_VEC4
      cols[j] = b_vec((row + n0) / 4u);
#else
      for (var i = 0u; i < 4u; i++) { if (n0 + i < p.N) { cols[j][i] = b_elem(row + n0 + i); } }
#endif
    }
  }
  return cols;
#endif
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let b = gid.z;
  if (m0 >= p.M || n0 >= p.N || b >= p.batch) { return; }
  let baseA = p.offsetA + b * p.strideA;
  let baseB = b * p.strideB;
  // acc[i] = C[m0 + i, n0..n0+3]
  var acc = mat4x4<f32>();
  for (var k0 = 0u; k0 < p.K; k0 += 4u) {
    let a = load_a(baseA, m0, k0);
    let bt = load_b(baseB, k0, n0);
    for (var j = 0u; j < 4u; j++) {
      let bj = bt[j];
      let aj = a[j];
      acc[0] += aj.x * bj;
      acc[1] += aj.y * bj;
      acc[2] += aj.z * bj;
      acc[3] += aj.w * bj;
    }
  }
  let baseC = p.offsetC + b * p.strideC;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < p.N) {
        let idx = baseC + m * p.ldc + n;
        var v = p.alpha * acc[i][j];
#if BIAS
        v += bias[n];
#endif
        if (p.accumulate != 0u) { v += C[idx]; }
        C[idx] = v;
      }
    }
  }
}
