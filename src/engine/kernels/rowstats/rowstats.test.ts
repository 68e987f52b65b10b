import { beforeAll, describe, expect, it } from 'vitest';
import { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { expectClose } from '../../testing/expectClose';
import { uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { rowCosine, rowNormMean, rowRelDiffNorm } from './rowstats';
import { rowCosineRef, rowMeanRef, rowNormRef, rowRelDiffNormRef } from './rowstats.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// f32 sums of at most 1000 terms of size ≤ 1, split over 256 strided partial sums and a tree:
// relative error of a few 1e-7; the mean and a cosine near 0 need an absolute bound instead.
const TOL = { atol: 2e-6, rtol: 1e-5 };

async function t(name: string, data: Float32Array): Promise<Tensor> {
  return upload(gpu, name, data, [data.length]);
}

function zeroRow(data: Float32Array, row: number, C: number): Float32Array {
  data.fill(0, row * C, (row + 1) * C);
  return data;
}

interface Stats {
  norm: Float32Array;
  mean: Float32Array;
  cos: Float32Array;
  rel: Float32Array;
}

async function runAll(g: Gpu, x: Float32Array, y: Float32Array, c: Float32Array, N: number, C: number): Promise<Stats> {
  const [tx, ty, tc] = [await t('x', x), await t('y', y), await t('c', c)];
  const [norm, mean, cos, rel] = [await t('norm', new Float32Array(N)), await t('mean', new Float32Array(N)), await t('cos', new Float32Array(N)), await t('rel', new Float32Array(N))];
  rowNormMean(g, tx, norm, mean, N, C);
  rowCosine(g, tx, ty, cos, N, C);
  rowRelDiffNorm(g, tx, ty, tc, rel, N, C);
  return { norm: await g.read(norm), mean: await g.read(mean), cos: await g.read(cos), rel: await g.read(rel) };
}

function checkAll(got: Stats, x: Float32Array, y: Float32Array, c: Float32Array, N: number, C: number, label: string): void {
  for (const [k, v] of Object.entries(got)) for (const e of v as Float32Array) if (!Number.isFinite(e)) throw new Error(`${label} ${k}: non-finite ${e}`);
  expectClose(got.norm, rowNormRef(x, N, C), TOL, `${label} norm`);
  expectClose(got.mean, rowMeanRef(x, N, C), TOL, `${label} mean`);
  expectClose(got.cos, rowCosineRef(x, y, N, C), TOL, `${label} cos`);
  expectClose(got.rel, rowRelDiffNormRef(x, y, c, N, C), TOL, `${label} rel`);
}

describe('rowstats GPU vs reference', () => {
  for (const C of [1, 40, 1000]) {
    for (const N of [1, 5, 33]) {
      it(`N ${N}, C ${C}` + (N > 1 ? ' (x row 1, y row 2, c row 3 % N zero)' : ''), async () => {
        const x = uniform(N * C, 100 + N + C, -1, 1.2); // a non-zero mean
        const y = uniform(N * C, 200 + N + C);
        const c = uniform(N * C, 300 + N + C);
        if (N > 1) {
          zeroRow(x, 1, C); // norm 0, cos 0 (x side)
          zeroRow(y, 2, C); // cos 0 (y side)
          zeroRow(c, 3 % N, C); // rel 0
        }
        checkAll(await runAll(gpu, x, y, c, N, C), x, y, c, N, C, `N ${N} C ${C}`);
      });
    }
  }

  it('a single all-zero row gives norm 0, mean 0, cos 0, rel 0', async () => {
    const C = 40;
    const zero = new Float32Array(C);
    const got = await runAll(gpu, zero, zero, zero, 1, C);
    expect([got.norm[0], got.mean[0], got.cos[0], got.rel[0]]).toEqual([0, 0, 0, 0]);
  });

  it('parallel and opposite rows give cos ±1 (clamped, never beyond)', async () => {
    const C = 1000;
    const x = uniform(2 * C, 7);
    const y = Float32Array.from(x, (v, i) => (i < C ? 3 * v : -0.5 * v));
    const got = await runAll(gpu, x, y, x, 2, C);
    expectClose(got.cos, [1, -1], { atol: 1e-6, rtol: 0 }, 'cos ±1');
    for (const v of got.cos) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  });

  it('rows past the device limit per grid dimension (limit lowered to 6: 33 rows on a 6 × 6 grid)', async () => {
    const limits = { ...gpu.caps.limits, maxComputeWorkgroupsPerDimension: 6 };
    const small = new Gpu(gpu.device, { ...gpu.caps, limits });
    expect(small.grid(33)).toEqual([6, 6, 1]);
    const [N, C] = [33, 40];
    const x = uniform(N * C, 1);
    const y = uniform(N * C, 2);
    const c = uniform(N * C, 3);
    checkAll(await runAll(small, x, y, c, N, C), x, y, c, N, C, 'split grid');
  });

  it('rejects an output too small and overlapping tensors, naming them', async () => {
    const x = await t('x', new Float32Array(20));
    const norm = await t('norm', new Float32Array(3));
    const mean = await t('mean', new Float32Array(4));
    expect(() => rowNormMean(gpu, x, norm, mean, 4, 5)).toThrow(/E008 .*'norm'/);
    expect(() => rowCosine(gpu, x, x, mean, 4, 5)).toThrow(/E008 .*'x' and 'x' overlap/);
  });
});
