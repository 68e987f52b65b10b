import { beforeAll, describe, it } from 'vitest';
import { encodeStorage, roundToStorage } from '../../dtype';
import type { WeightStorage } from '../../dtype';
import type { Gpu } from '../../runtime';
import { expectClose } from '../../testing/expectClose';
import { uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { matmul } from './matmul';
import type { MatmulArgs } from './matmul';
import { matmulRef } from './matmul.ref';
import type { MatmulRefArgs } from './matmul.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// f32 sums of up to ~100 products of values in [-1, 1]: rounding stays far below 1e-5 relative.
const TOL = { atol: 1e-5, rtol: 1e-5 };

interface Case extends MatmulRefArgs {
  label: string;
}

async function runCase(c: Case, storage: WeightStorage = 'f32', seed = 1) {
  const batch = c.batch ?? 1;
  const sA = c.strideA ?? c.M * c.K;
  const sB = c.strideB ?? c.K * c.N;
  const sC = c.strideC ?? c.M * c.N;
  const aSpan = (c.offsetA ?? 0) + (c.lda ? (c.transA ? c.K : c.M) * c.lda : c.M * c.K);
  const cSpan = (c.offsetC ?? 0) + (c.ldc ? c.M * c.ldc : c.M * c.N);
  const aData = uniform((batch - 1) * sA + aSpan, seed);
  const bData = uniform((batch - 1) * sB + c.K * c.N, seed + 1);
  const cData = uniform((batch - 1) * sC + cSpan, seed + 2);
  const a = await upload(gpu, 'A', aData, [aData.length]);
  const b = await upload(gpu, 'B', encodeStorage(bData, storage), [bData.length], storage);
  const cT = await upload(gpu, 'C', cData, [cData.length]);
  matmul(gpu, { ...(c as Omit<MatmulArgs, 'a' | 'b' | 'c'>), a, b, c: cT });
  const got = await gpu.read(cT);
  const want = matmulRef(aData, roundToStorage(bData, storage), cData, c);
  return { got, want };
}

const cases: Case[] = [
  { label: '1×1×1', M: 1, N: 1, K: 1 },
  { label: '45×65×33 (no dimension a tile multiple)', M: 45, N: 65, K: 33 },
  { label: '45×65×33 transA', M: 45, N: 65, K: 33, transA: true },
  { label: '45×65×33 transB', M: 45, N: 65, K: 33, transB: true },
  { label: '45×65×33 transA transB', M: 45, N: 65, K: 33, transA: true, transB: true },
  { label: '64×48×32 aligned (vec4 loads on both sides)', M: 64, N: 48, K: 32 },
  { label: '64×48×32 aligned transB', M: 64, N: 48, K: 32, transB: true },
  { label: '36×20×28 aligned transA', M: 36, N: 20, K: 28, transA: true },
  { label: 'batch 3, 17×9×13', M: 17, N: 9, K: 13, batch: 3 },
  { label: 'batch 4, 16×12×8, B broadcast (stride 0), transB', M: 16, N: 12, K: 8, batch: 4, strideB: 0, transB: true },
  { label: 'accumulate C += A·B, 7×5×3', M: 7, N: 5, K: 3, accumulate: true },
  { label: 'accumulate, alpha 0.25, aligned 8×8×8 transA', M: 8, N: 8, K: 8, accumulate: true, alpha: 0.25, transA: true },
  { label: 'thin 1×257×3', M: 1, N: 257, K: 3 },
  { label: 'tall 129×1×130', M: 129, N: 1, K: 130 },
  // A block of columns of wider matrices, read and written in place (row-split heads).
  { label: 'strided A and C: 7×9×5 inside 7×13 and 7×20, offsets 3 and 6', M: 7, N: 9, K: 5, lda: 13, offsetA: 3, ldc: 20, offsetC: 6, strideA: 0, strideC: 0 },
  { label: 'strided A transposed, vec4: 8×8×4 with lda 12, offset 4', M: 8, N: 8, K: 4, transA: true, lda: 12, offsetA: 4, strideA: 0 },
];

describe('matmul (f32) against the CPU reference', () => {
  for (const c of cases) {
    it(c.label, async () => {
      const { got, want } = await runCase(c);
      expectClose(got, want, TOL, c.label);
    });
  }
});

describe('matmul with half-precision weight storage (B operand)', () => {
  const shapes: Case[] = [
    { label: '45×65×33 transB (scalar loads)', M: 45, N: 65, K: 33, transB: true },
    { label: '24×36×40 transB (vec4 loads)', M: 24, N: 36, K: 40, transB: true },
    { label: '13×28×11 (B not transposed, vec4 along N)', M: 13, N: 28, K: 11 },
  ];
  for (const storage of ['bf16x2', 'f16x2', 'f16'] as const) {
    for (const c of shapes) {
      it(`${storage}: ${c.label}`, async ({ skip }) => {
        if (storage === 'f16' && !gpu.caps.features.shaderF16) {
          // Not a silent skip: this device genuinely lacks the feature, which the packed paths cover.
          skip(`device has no shader-f16 (${gpu.caps.adapter.description})`);
        }
        // The reference uses the same rounded weights, so only f32 accumulation error remains.
        const { got, want } = await runCase(c, storage, 7);
        expectClose(got, want, TOL, `${storage} ${c.label}`);
      });
    }
  }
});

describe('matmul with a bias row (linear layers with bias, Qwen2 q/k/v)', () => {
  it('y = x·Wᵀ + b at 9×13×7, and accumulated', async () => {
    const [M, N, K] = [9, 13, 7];
    const x = uniform(M * K, 21);
    const w = uniform(N * K, 22);
    const bias = uniform(N, 23);
    const y0 = uniform(M * N, 24);
    const tx = await upload(gpu, 'x', x, [M, K]);
    const tw = await upload(gpu, 'W', w, [N, K]);
    const tb = await upload(gpu, 'b', bias, [N]);
    const ty = await upload(gpu, 'y', y0, [M, N]);
    matmul(gpu, { a: tx, b: tw, c: ty, M, N, K, transB: true, bias: tb, accumulate: true });
    expectClose(await gpu.read(ty), matmulRef(x, w, y0, { M, N, K, transB: true, bias, accumulate: true }), TOL, 'bias accumulate');
    matmul(gpu, { a: tx, b: tw, c: ty, M, N, K, transB: true, bias: tb });
    expectClose(await gpu.read(ty), matmulRef(x, w, y0, { M, N, K, transB: true, bias }), TOL, 'bias');
  });
});

describe('matmul argument checks', () => {
  it('rejects an operand too small for the call', async () => {
    const a = await gpu.createTensor('small', [4]);
    const b = await gpu.createTensor('b', [16]);
    const c = await gpu.createTensor('c', [16]);
    let message = '';
    try {
      matmul(gpu, { a, b, c, M: 4, N: 4, K: 4 });
    } catch (e) {
      message = String(e);
    }
    if (!/E008 .*operand A \('small'/.test(message)) throw new Error(`expected a coded E008 error naming the tensor, got: ${message}`);
  });
});
