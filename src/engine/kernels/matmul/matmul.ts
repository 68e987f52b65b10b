import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import source from './matmul.wgsl?raw';

const params = { M: 'u32', N: 'u32', K: 'u32', batch: 'u32', strideA: 'u32', strideB: 'u32', strideC: 'u32', offsetA: 'u32', lda: 'u32', offsetC: 'u32', ldc: 'u32', accumulate: 'u32', alpha: 'f32' } as const;
const kernel = new KernelSource('matmul', source, params);

const WG = 8;
const TILE = 4;

export interface MatmulArgs {
  /** f32; (batch, M, K), or (batch, K, M) when transA */
  a: Tensor;
  /** f32, f16, bf16x2 or f16x2; (batch, K, N), or (batch, N, K) when transB */
  b: Tensor;
  /** f32 (batch, M, N); overwritten, or added to when accumulate */
  c: Tensor;
  M: number;
  N: number;
  K: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  /** Elements between consecutive batches; 0 broadcasts one matrix to every batch. */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  accumulate?: boolean;
  alpha?: number;
  /** f32 (N): added to every row of the product (linear-layer bias). */
  bias?: Tensor;
  /** Elements before A's first value, and between its stored rows (default: packed, K or M). */
  offsetA?: number;
  lda?: number;
  /** Elements before C's first value, and between its rows (default N). */
  offsetC?: number;
  ldc?: number;
}

/** The pipeline variant a call will use (exposed so callers can compile it ahead of time). */
export function matmulVariant(args: Pick<MatmulArgs, 'M' | 'N' | 'K' | 'transA' | 'transB' | 'strideA' | 'strideB' | 'offsetA' | 'lda'> & { bDtype: Tensor['dtype']; bias?: boolean }): KernelSpec<typeof params> {
  const { M, N, K, transA = false, transB = false, bDtype } = args;
  const aRun = transA ? M : K; // length of A's contiguous stored rows
  const bRun = transB ? K : N;
  const aVec = aRun % 4 === 0 && (args.strideA ?? 0) % 4 === 0 && (args.offsetA ?? 0) % 4 === 0 && (args.lda ?? aRun) % 4 === 0;
  const bVec = bRun % 4 === 0 && (args.strideB ?? 0) % 4 === 0;
  const bArray = {
    f32: bVec ? 'array<vec4<f32>>' : 'array<f32>',
    f16: bVec ? 'array<vec4<f16>>' : 'array<f16>',
    bf16x2: bVec ? 'array<vec2<u32>>' : 'array<u32>',
    f16x2: bVec ? 'array<vec2<u32>>' : 'array<u32>',
  }[bDtype as 'f32' | 'f16' | 'bf16x2' | 'f16x2'];
  if (!bArray) throw new StudioError(GpuErrorCode.badArgument, `matmul: operand B has unsupported dtype ${bDtype}`);
  return kernel.variant({
    entryPoint: 'main',
    vars: { A_ARRAY: aVec ? 'array<vec4<f32>>' : 'array<f32>', B_ARRAY: bArray },
    flags: {
      TRANS_A: transA,
      TRANS_B: transB,
      A_VEC4: aVec,
      B_VEC4: bVec,
      F16: bDtype === 'f16',
      B_F32: bDtype === 'f32',
      B_F16: bDtype === 'f16',
      B_BF16X2: bDtype === 'bf16x2',
      B_F16X2: bDtype === 'f16x2',
      BIAS: !!args.bias,
    },
    constants: { WG_X: WG, WG_Y: WG },
  });
}

/** C = alpha · op(A) · op(B) (+ C), batched. See matmul.wgsl for the layouts. */
export function matmul(gpu: Gpu, args: MatmulArgs): void {
  const { a, b, c, M, N, K, batch = 1, transA = false, transB = false, accumulate = false, alpha = 1 } = args;
  const strideA = args.strideA ?? M * K;
  const strideB = args.strideB ?? K * N;
  const strideC = args.strideC ?? M * N;
  const offsetA = args.offsetA ?? 0;
  const lda = args.lda ?? (transA ? M : K);
  const offsetC = args.offsetC ?? 0;
  const ldc = args.ldc ?? N;
  if (a.dtype !== 'f32' || c.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `matmul: A ('${a.name}') and C ('${c.name}') must be f32, got ${a.dtype} and ${c.dtype}`);
  checkExtent('A', a, batch, strideA, offsetA + (transA ? (K - 1) * lda + M : (M - 1) * lda + K));
  checkExtent('B', b, batch, strideB, K * N);
  checkExtent('C', c, batch, strideC, offsetC + (M - 1) * ldc + N);
  if (args.bias) checkExtent('bias', args.bias, 1, 0, N);
  const spec = matmulVariant({ M, N, K, transA, transB, strideA, strideB, offsetA, lda, bDtype: b.dtype, bias: !!args.bias });
  gpu.dispatch(spec, { M, N, K, batch, strideA, strideB, strideC, offsetA, lda, offsetC, ldc, accumulate: accumulate ? 1 : 0, alpha }, args.bias ? [a, b, c, args.bias] : [a, b, c], [Math.ceil(N / TILE / WG), Math.ceil(M / TILE / WG), batch]);
}

function checkExtent(which: string, t: Tensor, batch: number, stride: number, matrix: number): void {
  const needed = (batch - 1) * stride + matrix;
  if (numel(t.shape) < needed) {
    throw new StudioError(GpuErrorCode.badArgument, `matmul: operand ${which} ('${t.name}', shape ${t.shape.join('×')}) holds ${numel(t.shape)} elements but the call reads ${needed}`);
  }
}

// ---- the three products of a linear layer y = x · Wᵀ, with W in torch layout (out, in)

/** y (rows, out) (+)= x (rows, in) · Wᵀ (+ bias (out)), W (out, in) in any weight storage. */
export function linearForward(gpu: Gpu, x: Tensor, w: Tensor, y: Tensor, rows: number, inF: number, outF: number, accumulate = false, bias?: Tensor): void {
  matmul(gpu, { a: x, b: w, c: y, M: rows, N: outF, K: inF, transB: true, accumulate, bias });
}

/** dx (rows, in) (+)= dy (rows, out) · W (out, in). */
export function linearBackwardInput(gpu: Gpu, dy: Tensor, w: Tensor, dx: Tensor, rows: number, inF: number, outF: number, accumulate = false): void {
  matmul(gpu, { a: dy, b: w, c: dx, M: rows, N: inF, K: outF, accumulate });
}

/** dBias (out) += column sums of dy (rows, out), as onesᵀ (1, rows) · dy; `ones` holds ≥ rows ones. */
export function biasBackward(gpu: Gpu, dy: Tensor, ones: Tensor, dBias: Tensor, rows: number, outF: number): void {
  matmul(gpu, { a: ones, b: dy, c: dBias, M: 1, N: outF, K: rows, accumulate: true });
}

/** dW (out, in) += dyᵀ (out, rows) · x (rows, in): parameter gradients always accumulate. */
export function linearBackwardWeight(gpu: Gpu, dy: Tensor, x: Tensor, dW: Tensor, rows: number, inF: number, outF: number): void {
  matmul(gpu, { a: dy, b: x, c: dW, M: outF, N: inF, K: rows, transA: true, accumulate: true });
}
