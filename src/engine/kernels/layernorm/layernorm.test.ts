import { beforeAll, describe, it } from 'vitest';
import type { Gpu } from '../../runtime';
import { expectClose } from '../../testing/expectClose';
import { uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { layernormBackward, layernormForward, layernormScratchElements } from './layernorm';
import { layernormBackwardRef, layernormForwardRef } from './layernorm.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  label: string;
  N: number;
  C: number;
  eps: number;
  /** Added to every x: a large mean with a small spread tests the two-pass variance. */
  offset?: number;
  /** Sets row 0 to a constant: var = 0, rstd = 1/sqrt(eps). */
  constantRow?: boolean;
}

const cases: Case[] = [
  { label: 'N 1, C 1 (var 0 by construction)', N: 1, C: 1, eps: 1e-5 },
  { label: 'N 3, C 5 with a constant row', N: 3, C: 5, eps: 1e-5, constantRow: true },
  { label: 'N 17, C 64', N: 17, C: 64, eps: 1e-5 },
  { label: 'N 11, C 300, mean 30 (256-wide workgroup)', N: 11, C: 300, eps: 1e-5, offset: 30 },
  { label: 'N 2503, C 37 (thousands of rows, 10 per partial)', N: 2503, C: 37, eps: 1e-6 },
];

function inputs(c: Case, seed: number) {
  const x = uniform(c.N * c.C, seed);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + (c.offset ?? 0);
  if (c.constantRow) x.fill(0.25, 0, c.C);
  return {
    x,
    w: uniform(c.C, seed + 1, 0.5, 1.5),
    b: uniform(c.C, seed + 2),
    dy: uniform(c.N * c.C, seed + 3),
    dxIn: uniform(c.N * c.C, seed + 4),
    dwIn: uniform(c.C, seed + 5),
    dbIn: uniform(c.C, seed + 6),
  };
}

/** Largest rstd·|dy·w| over all rows: the size of the terms that cancel inside dx. */
function dxScale(x: Float32Array, w: Float32Array, dy: Float32Array, N: number, C: number, eps: number): number {
  let scale = 0;
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += x[n * C + j]!;
    const mean = s / C;
    let ss = 0;
    for (let j = 0; j < C; j++) ss += (x[n * C + j]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(ss / C + eps);
    for (let j = 0; j < C; j++) scale = Math.max(scale, rstd * Math.abs(dy[n * C + j]! * w[j]!));
  }
  return scale;
}

describe('layernorm forward: GPU against the CPU reference', () => {
  for (const c of cases) {
    it(c.label, async () => {
      const { x, w, b } = inputs(c, 31);
      const xT = await upload(gpu, 'x', x, [c.N, c.C]);
      const wT = await upload(gpu, 'w', w, [c.C]);
      const bT = await upload(gpu, 'b', b, [c.C]);
      const yT = await gpu.createTensor('y', [c.N, c.C]);
      layernormForward(gpu, { x: xT, w: wT, b: bT, y: yT, N: c.N, C: c.C, eps: c.eps });
      // |y| ≲ 3; f32 mean/variance and rsqrt add a few ulp. The f32 mean itself is off by a few ulp of
      // |mean| (4·2⁻²³·30 ≈ 1.4e-5 at mean 30), which reaches y times rstd·w ≲ 2.6 (spread ±1).
      const atol = 2e-6 + 4 * 2 ** -23 * Math.abs(c.offset ?? 0) * 2.6;
      expectClose(await gpu.read(yT), layernormForwardRef(x, w, b, c.N, c.C, c.eps), { atol, rtol: 2e-6 }, `y ${c.label}`);
    });
  }
});

describe('layernorm backward: GPU against the CPU reference', () => {
  for (const c of cases) {
    for (const accumulateDx of [false, true]) {
      if (accumulateDx && c.N * c.C > 5000) continue; // dx += on the small cases only, to keep the suite quick
      it(`${c.label}${accumulateDx ? ', dx +=' : ''}`, async () => {
        const { x, w, dy, dxIn, dwIn, dbIn } = inputs(c, 41);
        const xT = await upload(gpu, 'x', x, [c.N, c.C]);
        const wT = await upload(gpu, 'w', w, [c.C]);
        const dyT = await upload(gpu, 'dy', dy, [c.N, c.C]);
        const dxT = await upload(gpu, 'dx', dxIn, [c.N, c.C]);
        const dwT = await upload(gpu, 'dw', dwIn, [c.C]);
        const dbT = await upload(gpu, 'db', dbIn, [c.C]);
        const scratch = await gpu.createTensor('scratch', [layernormScratchElements(c.N, c.C)]);
        layernormBackward(gpu, { x: xT, w: wT, dy: dyT, dx: dxT, dw: dwT, db: dbT, scratch, N: c.N, C: c.C, eps: c.eps, accumulateDx });
        const want = layernormBackwardRef(x, w, dy, c.N, c.C, c.eps, dwIn, dbIn, accumulateDx ? dxIn : undefined);
        // dx is rstd times a difference of O(|dy·w|) terms that may cancel (fully at C = 1 and on the
        // constant row), so its f32 error is relative to rstd·|dy·w|, not to each entry.
        expectClose(await gpu.read(dxT), want.dx, { atol: 1e-6 * dxScale(x, w, dy, c.N, c.C, c.eps), rtol: 1e-5 }, `dx ${c.label}`);
        // dw, db sum N terms of size ≲ 3 in f32 (in chunks, then across ≤ 256 partials): about √N·ulp of
        // the running sum, ~1e-5 absolute at N = 2500.
        expectClose(await gpu.read(dwT), want.dw, { atol: 2e-5, rtol: 1e-5 }, `dw ${c.label}`);
        expectClose(await gpu.read(dbT), want.db, { atol: 2e-5, rtol: 1e-5 }, `db ${c.label}`);
      });
    }
  }
});

describe('layernorm reference backward against finite differences of the reference forward', () => {
  it('N 3, C 6, L = Σ y·g', () => {
    const N = 3;
    const C = 6;
    const eps = 1e-2; // large eps so the eps term contributes visibly to the gradient
    const x = Float64Array.from(uniform(N * C, 8));
    const w = Float64Array.from(uniform(C, 9, 0.5, 1.5));
    const b = Float64Array.from(uniform(C, 10));
    const g = Float64Array.from(uniform(N * C, 11));
    const loss = () => layernormForwardRef(x, w, b, N, C, eps).reduce((s, v, i) => s + v * g[i]!, 0);
    const { dx, dw, db } = layernormBackwardRef(x, w, g, N, C, eps, new Float64Array(C), new Float64Array(C));
    const h = 1e-5;
    const fd = (arr: Float64Array) =>
      Array.from(arr, (_, i) => {
        const v = arr[i]!;
        arr[i] = v + h;
        const up = loss();
        arr[i] = v - h;
        const down = loss();
        arr[i] = v;
        return (up - down) / (2 * h);
      });
    // Central differences in f64: truncation O(h²) ≈ 1e-10, cancellation ≈ 1e-16/h ≈ 1e-11.
    expectClose(dx, fd(x), { atol: 1e-8, rtol: 1e-7 }, 'dx vs FD');
    expectClose(dw, fd(w), { atol: 1e-8, rtol: 1e-7 }, 'dw vs FD');
    expectClose(db, fd(b), { atol: 1e-8, rtol: 1e-7 }, 'db vs FD');
  });
});
