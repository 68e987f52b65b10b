/**
 * CPU reference of the batched matmul (the spec the kernel is tested against):
 * C[b] = alpha · op(A[b]) · op(B[b]) (+ C[b]). Accumulates in f64 so the reference is the more
 * accurate side of every comparison.
 */
export interface MatmulRefArgs {
  M: number;
  N: number;
  K: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  strideA?: number;
  strideB?: number;
  strideC?: number;
  accumulate?: boolean;
  alpha?: number;
  bias?: Float32Array;
  offsetA?: number;
  lda?: number;
  offsetC?: number;
  ldc?: number;
}

export function matmulRef(a: Float32Array, b: Float32Array, c: Float32Array, args: MatmulRefArgs): Float32Array {
  const { M, N, K, batch = 1, transA = false, transB = false, accumulate = false, alpha = 1 } = args;
  const sA = args.strideA ?? M * K;
  const sB = args.strideB ?? K * N;
  const sC = args.strideC ?? M * N;
  const oA = args.offsetA ?? 0;
  const lda = args.lda ?? (transA ? M : K);
  const oC = args.offsetC ?? 0;
  const ldc = args.ldc ?? N;
  const out = new Float32Array(c);
  for (let bi = 0; bi < batch; bi++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[oA + bi * sA + k * lda + m]! : a[oA + bi * sA + m * lda + k]!;
          const bv = transB ? b[bi * sB + n * K + k]! : b[bi * sB + k * N + n]!;
          acc += av * bv;
        }
        const idx = oC + bi * sC + m * ldc + n;
        out[idx] = alpha * acc + (args.bias ? args.bias[n]! : 0) + (accumulate ? c[idx]! : 0);
      }
    }
  }
  return out;
}
