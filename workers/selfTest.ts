import type { Gpu } from '../src/engine/runtime';
import { matmul } from '../src/engine/kernels/matmul/matmul';
import { matmulRef } from '../src/engine/kernels/matmul/matmul.ref';
import { compareClose } from '../src/engine/testing/expectClose';
import { uniform } from '../src/engine/testing/random';
import type { SelfTestCase, SelfTestResult } from './api';

const CASES: Omit<SelfTestCase, 'maxAbsError' | 'passed'>[] = [
  { label: '1×1×1', M: 1, N: 1, K: 1, batch: 1, transA: false, transB: false },
  { label: '45×65×33', M: 45, N: 65, K: 33, batch: 1, transA: false, transB: false },
  { label: '45×65×33 Aᵀ', M: 45, N: 65, K: 33, batch: 1, transA: true, transB: false },
  { label: '45×65×33 Bᵀ', M: 45, N: 65, K: 33, batch: 1, transA: false, transB: true },
  { label: '64×48×32 Bᵀ', M: 64, N: 48, K: 32, batch: 1, transA: false, transB: true },
  { label: '3 × 17×9×13', M: 17, N: 9, K: 13, batch: 3, transA: false, transB: false },
];
const TOLERANCE = 1e-4;

/** The self-test behind the capability screen's button: every case against the CPU reference. */
export async function runSelfTest(gpu: Gpu): Promise<SelfTestResult> {
  const cases: SelfTestCase[] = [];
  let gpuMs = 0;
  for (const [i, c] of CASES.entries()) {
    const aData = uniform(c.batch * c.M * c.K, 11 + i);
    const bData = uniform(c.batch * c.K * c.N, 101 + i);
    const a = await gpu.createTensor('selftest.A', [aData.length]);
    const b = await gpu.createTensor('selftest.B', [bData.length]);
    const out = await gpu.createTensor('selftest.C', [c.batch * c.M * c.N]);
    gpu.write(a, aData);
    gpu.write(b, bData);
    const { ms } = await gpu.time(() => matmul(gpu, { a, b, c: out, M: c.M, N: c.N, K: c.K, batch: c.batch, transA: c.transA, transB: c.transB }));
    gpuMs += ms;
    const got = await gpu.read(out);
    const want = matmulRef(aData, bData, new Float32Array(got.length), c);
    const r = compareClose(got, want, { atol: TOLERANCE, rtol: 0 });
    cases.push({ ...c, maxAbsError: r.maxAbsError, passed: r.ok });
    for (const t of [a, b, out]) t.buffer.destroy();
  }
  return {
    passed: cases.every((c) => c.passed),
    maxAbsError: Math.max(...cases.map((c) => c.maxAbsError)),
    tolerance: TOLERANCE,
    cases,
    gpuMs,
  };
}
