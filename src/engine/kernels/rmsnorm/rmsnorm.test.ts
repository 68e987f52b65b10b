import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime';
import { expectClose } from '../../testing/expectClose';
import { uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { partialPlan, rmsnormBackward, rmsnormForward, rmsnormScratchElements } from './rmsnorm';
import { rmsnormBackwardRef, rmsnormForwardRef } from './rmsnorm.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  label: string;
  N: number;
  C: number;
  eps: number;
  /** Multiplies x, to move rows away from unit scale. */
  scale?: number;
  /** Sets row 0 to zeros: rstd is then 1/sqrt(eps), the eps path. */
  zeroRow?: boolean;
}

const cases: Case[] = [
  { label: 'N 1, C 1', N: 1, C: 1, eps: 1e-6 },
  { label: 'N 3, C 5 with a zero row', N: 3, C: 5, eps: 1e-5, zeroRow: true },
  { label: 'q/k norm: (B·T·NH = 2·5·3, HS 64)', N: 30, C: 64, eps: 1e-6 },
  { label: 'N 13, C 300 (256-wide workgroup, C not a multiple)', N: 13, C: 300, eps: 1e-6, scale: 40 },
  { label: 'N 2501, C 40 (thousands of rows, 10 per partial)', N: 2501, C: 40, eps: 1e-6, scale: 0.05 },
  { label: 'N 1031, C 257', N: 1031, C: 257, eps: 1e-6 },
];

function inputs(c: Case, seed: number) {
  const x = uniform(c.N * c.C, seed, -(c.scale ?? 1), c.scale ?? 1);
  if (c.zeroRow) x.fill(0, 0, c.C);
  return {
    x,
    w: uniform(c.C, seed + 1, 0.5, 1.5),
    dy: uniform(c.N * c.C, seed + 2),
    dxIn: uniform(c.N * c.C, seed + 3),
    dwIn: uniform(c.C, seed + 4),
  };
}

describe('rmsnorm forward: GPU against the CPU reference', () => {
  for (const c of cases) {
    it(c.label, async () => {
      const { x, w } = inputs(c, 11);
      const xT = await upload(gpu, 'x', x, [c.N, c.C]);
      const wT = await upload(gpu, 'w', w, [c.C]);
      const yT = await gpu.createTensor('y', [c.N, c.C]);
      rmsnormForward(gpu, { x: xT, w: wT, y: yT, N: c.N, C: c.C, eps: c.eps });
      // y is O(w) ≤ 1.5 in size; f32 sum of squares and rsqrt carry a few ulp of relative error.
      expectClose(await gpu.read(yT), rmsnormForwardRef(x, w, c.N, c.C, c.eps), { atol: 1e-6, rtol: 2e-6 }, `y ${c.label}`);
    });
  }
});

describe('rmsnorm backward: GPU against the CPU reference', () => {
  for (const c of cases) {
    for (const accumulateDx of [false, true]) {
      // Accumulating dx is checked on the small cases only, to keep the suite quick.
      if (accumulateDx && c.N * c.C > 5000) continue;
      it(`${c.label}${accumulateDx ? ', dx +=' : ''}`, async () => {
        const { x, w, dy, dxIn, dwIn } = inputs(c, 21);
        const xT = await upload(gpu, 'x', x, [c.N, c.C]);
        const wT = await upload(gpu, 'w', w, [c.C]);
        const dyT = await upload(gpu, 'dy', dy, [c.N, c.C]);
        const dxT = await upload(gpu, 'dx', dxIn, [c.N, c.C]);
        const dwT = await upload(gpu, 'dw', dwIn, [c.C]);
        const scratch = await gpu.createTensor('scratch', [rmsnormScratchElements(c.N, c.C)]);
        rmsnormBackward(gpu, { x: xT, w: wT, dy: dyT, dx: dxT, dw: dwT, scratch, N: c.N, C: c.C, eps: c.eps, accumulateDx });
        const want = rmsnormBackwardRef(x, w, dy, c.N, c.C, c.eps, dwIn, accumulateDx ? dxIn : undefined);
        // dx is a difference of two terms of the row's scale (rstd·|dy·w|, up to ~50 for the small-x case and
        // ~500 for the zero row) that may cancel (fully at C = 1), so f32 error is relative to that scale.
        let dxScale = 0;
        for (let n = 0; n < c.N; n++) {
          let ss = 0;
          for (let j = 0; j < c.C; j++) ss += x[n * c.C + j]! ** 2;
          const rstd = 1 / Math.sqrt(ss / c.C + c.eps);
          for (let j = 0; j < c.C; j++) dxScale = Math.max(dxScale, rstd * Math.abs(dy[n * c.C + j]! * w[j]!));
        }
        expectClose(await gpu.read(dxT), want.dx, { atol: 1e-6 * dxScale, rtol: 1e-5 }, `dx ${c.label}`);
        // dw sums N terms of size ≤ ~1.5 in f32 (in chunks, then across ≤ 256 partials): error grows like
        // √N·ulp of the running sum, about 1e-5 absolute at N = 2500.
        expectClose(await gpu.read(dwT), want.dw, { atol: 2e-5, rtol: 1e-5 }, `dw ${c.label}`);
      });
    }
  }

  it('partial plan covers every row exactly once and bounds the scratch', () => {
    for (const N of [1, 2, 255, 256, 257, 2501, 100000]) {
      const { rowsPerGroup, P } = partialPlan(N);
      if (P > 256 || (P - 1) * rowsPerGroup >= N || P * rowsPerGroup < N) throw new Error(`bad plan for N ${N}: ${rowsPerGroup} rows × ${P}`);
    }
  });

  it('a scratch sized for N rows serves every call of fewer rows (the plan is not monotonic in N)', () => {
    // A workspace is sized for its largest micro-batch; the last partial batch and evaluation batches are smaller.
    const C = 3;
    let worst = 0;
    for (let N = 1; N <= 3000; N++) {
      const size = rmsnormScratchElements(N, C);
      worst = Math.max(worst, partialPlan(N).P * C);
      if (size < worst) throw new Error(`scratch for ${N} rows holds ${size} elements, but ${worst} are needed by a call of at most ${N} rows`);
    }
    expect(rmsnormScratchElements(3000, C)).toBe(256 * C);
  });
});

describe('rmsnorm reference backward against finite differences of the reference forward', () => {
  it('N 3, C 7, L = Σ y·g', () => {
    const N = 3;
    const C = 7;
    const eps = 1e-3; // large eps so the eps term contributes visibly to the gradient
    const x = Float64Array.from(uniform(N * C, 5));
    const w = Float64Array.from(uniform(C, 6, 0.5, 1.5));
    const g = Float64Array.from(uniform(N * C, 7));
    const loss = (xv: Float64Array, wv: Float64Array) => rmsnormForwardRef(xv, wv, N, C, eps).reduce((s, v, i) => s + v * g[i]!, 0);
    const { dx, dw } = rmsnormBackwardRef(x, w, g, N, C, eps, new Float64Array(C));
    const h = 1e-5;
    const fd = (arr: Float64Array, other: () => number) =>
      Array.from(arr, (_, i) => {
        const v = arr[i]!;
        arr[i] = v + h;
        const up = other();
        arr[i] = v - h;
        const down = other();
        arr[i] = v;
        return (up - down) / (2 * h);
      });
    // Central differences in f64: truncation O(h²) ≈ 1e-10, cancellation ≈ 1e-16/h ≈ 1e-11.
    expectClose(dx, fd(x, () => loss(x, w)), { atol: 1e-8, rtol: 1e-7 }, 'dx vs FD');
    expectClose(dw, fd(w, () => loss(x, w)), { atol: 1e-8, rtol: 1e-7 }, 'dw vs FD');
  });
});
