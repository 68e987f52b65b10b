/** Matmul on awkward shapes (1, primes, transposes, batches) against matmulRef. */
import { matmul } from '../../src/engine/kernels/matmul/matmul';
import { matmulRef } from '../../src/engine/kernels/matmul/matmul.ref';
import { uniform } from '../../src/engine/testing/random';
import { CaseTensors, check } from './check';
import type { SelfTestJob } from './check';

interface MatmulCase {
  label: string;
  M: number;
  N: number;
  K: number;
  batch: number;
  transA: boolean;
  transB: boolean;
}

const CASES: MatmulCase[] = [
  { label: '1×1×1', M: 1, N: 1, K: 1, batch: 1, transA: false, transB: false },
  { label: '45×65×33', M: 45, N: 65, K: 33, batch: 1, transA: false, transB: false },
  { label: '45×65×33 Aᵀ', M: 45, N: 65, K: 33, batch: 1, transA: true, transB: false },
  { label: '45×65×33 Bᵀ', M: 45, N: 65, K: 33, batch: 1, transA: false, transB: true },
  { label: '64×48×32 Bᵀ', M: 64, N: 48, K: 32, batch: 1, transA: false, transB: true },
  { label: '3 × 17×9×13', M: 17, N: 9, K: 13, batch: 3, transA: false, transB: false },
];
// Sums of K ≤ 33 products of values in [-1, 1]: f32 rounding stays ~1e-6, far below 1e-4.
const TOLERANCE = { atol: 1e-4, rtol: 0 };

export const matmulJobs: SelfTestJob[] = CASES.map((c, i) => ({
  kernel: 'matmul',
  label: c.label,
  async run(gpu) {
    const aData = uniform(c.batch * c.M * c.K, 11 + i); // (batch, M, K) or (batch, K, M) when transA
    const bData = uniform(c.batch * c.K * c.N, 101 + i); // (batch, K, N) or (batch, N, K) when transB
    const t = new CaseTensors(gpu);
    try {
      const a = await t.upload('A', aData, [aData.length]);
      const b = await t.upload('B', bData, [bData.length]);
      const out = await t.output('C', [c.batch * c.M * c.N]); // (batch, M, N)
      const { ms } = await gpu.time(() => matmul(gpu, { a, b, c: out, M: c.M, N: c.N, K: c.K, batch: c.batch, transA: c.transA, transB: c.transB }));
      const got = await gpu.read(out);
      const want = matmulRef(aData, bData, new Float32Array(got.length), c);
      return { checks: [check('matmul', c.label, { C: [got, want] }, TOLERANCE)], gpuMs: ms };
    } finally {
      t.destroy();
    }
  },
}));
