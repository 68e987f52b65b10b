import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { expectClose } from '../../testing/expectClose';
import { uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { dropoutBackward, dropoutForward } from './dropout';
import { dropoutMaskRef, dropoutRef, philox4x32_10 } from './dropout.ref';
import type { DropoutKey } from './dropout.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// GPU and CPU compute the same integer mask and the same single f32 multiply: equality is exact.
const EXACT = { atol: 0, rtol: 0 };
const KEY: DropoutKey = { seed: 1234, step: 7, tensorId: 3 };

async function t(name: string, data: Float32Array): Promise<Tensor> {
  return upload(gpu, name, data, [data.length]);
}

/** Runs forward on x ∈ [0.5, 1.5) (never 0, so y ≠ 0 exactly where the mask keeps) and returns y and its mask. */
async function gpuMask(n: number, p: number, key: DropoutKey, offset = 0): Promise<{ y: Float32Array; mask: Uint8Array; x: Float32Array }> {
  const x = uniform(n, 5, 0.5, 1.5);
  const [tx, ty] = [await t('x', x), await t('y', new Float32Array(n))];
  dropoutForward(gpu, tx, ty, n, p, key, { offset });
  const y = await gpu.read(ty);
  return { y, x, mask: Uint8Array.from(y, (v) => (v !== 0 ? 1 : 0)) };
}

function rate(mask: Uint8Array): number {
  return mask.reduce((s, v) => s + v, 0) / mask.length;
}

describe('Philox-4x32-10 reference', () => {
  it("matches Random123's published known-answer vectors", () => {
    expect(philox4x32_10([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])).toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });
});

describe('dropout GPU vs CPU reference (bit-exact)', () => {
  for (const [n, offset] of [
    [1, 0],
    [7, 0],
    [7, 3],
    [1000, 0],
    [4099, 6],
    [65537, 1],
  ] as const) {
    it(`forward n = ${n}, offset ${offset}, p = 0.2`, async () => {
      const { y, x } = await gpuMask(n, 0.2, KEY, offset);
      expectClose(y, dropoutRef(x, 0.2, KEY, offset), EXACT, 'y');
    });
  }

  it('backward regenerates the forward mask; accumulate adds', async () => {
    const n = 1001;
    const { mask } = await gpuMask(n, 0.3, KEY);
    const dy = uniform(n, 8, 0.5, 1.5); // never 0, so dx ≠ 0 exactly where the mask keeps
    const prior = uniform(n, 9);
    const [tdy, tdx] = [await t('dy', dy), await t('dx', new Float32Array(n))];
    dropoutBackward(gpu, tdy, tdx, n, 0.3, KEY);
    const dx = await gpu.read(tdx);
    expect(Uint8Array.from(dx, (v) => (v !== 0 ? 1 : 0))).toEqual(mask);
    expectClose(dx, dropoutRef(dy, 0.3, KEY), EXACT, 'dx =');
    gpu.write(tdx, prior);
    dropoutBackward(gpu, tdy, tdx, n, 0.3, KEY, { accumulate: true });
    expectClose(await gpu.read(tdx), dropoutRef(dy, 0.3, KEY, 0, prior), EXACT, 'dx +=');
  });

  it('in place equals out of place', async () => {
    const n = 333;
    const x = uniform(n, 10);
    const tx = await t('x', x);
    dropoutForward(gpu, tx, tx, n, 0.5, KEY);
    expectClose(await gpu.read(tx), dropoutRef(x, 0.5, KEY), EXACT, 'in place');
  });

  it('a tensor processed in two row blocks (offsets) gets the mask of the whole', async () => {
    const n = 999;
    const split = 10 * 37; // 37 rows of width 10: 370 splits a 4-element Philox block
    const x = uniform(n, 11);
    const [lo, hi] = [await t('lo', x.slice(0, split)), await t('hi', x.slice(split))];
    const [ylo, yhi] = [await t('ylo', new Float32Array(split)), await t('yhi', new Float32Array(n - split))];
    dropoutForward(gpu, lo, ylo, split, 0.2, KEY, { offset: 0 });
    dropoutForward(gpu, hi, yhi, n - split, 0.2, KEY, { offset: split });
    const got = new Float32Array(n);
    got.set(await gpu.read(ylo));
    got.set(await gpu.read(yhi), split);
    expectClose(got, dropoutRef(x, 0.2, KEY), EXACT, 'two blocks vs whole');
  });

  it('p = 0 is the identity, p = 1 drops everything', async () => {
    const n = 257;
    const x = uniform(n, 12);
    const [tx, ty] = [await t('x', x), await t('y', new Float32Array(n))];
    dropoutForward(gpu, tx, ty, n, 0, KEY);
    expectClose(await gpu.read(ty), x, EXACT, 'p = 0');
    dropoutForward(gpu, tx, ty, n, 1, KEY);
    expectClose(await gpu.read(ty), new Float32Array(n), EXACT, 'p = 1');
  });
});

describe('dropout mask statistics and keys', () => {
  const n = 100_000;

  it('keep rate for p = 0.2 is 0.8 within 0.01 (8 standard deviations), per Philox word too', async () => {
    const { mask } = await gpuMask(n, 0.2, KEY);
    expect(Math.abs(rate(mask) - 0.8)).toBeLessThan(0.01);
    // Each of the 4 words of a block separately (25k draws each, σ ≈ 0.0025).
    for (let w = 0; w < 4; w++) {
      const sub = mask.filter((_, i) => i % 4 === w);
      expect(Math.abs(rate(sub) - 0.8), `word ${w}`).toBeLessThan(0.015);
    }
    // Neighbours independent: P(keep i and keep i+1) ≈ 0.64.
    let both = 0;
    for (let i = 0; i + 1 < n; i++) both += mask[i]! & mask[i + 1]!;
    expect(Math.abs(both / (n - 1) - 0.64)).toBeLessThan(0.012);
  });

  it('the same key reproduces the mask; another seed, step or tensorId gives an independent one', async () => {
    const m = 20_000;
    const base = (await gpuMask(m, 0.2, KEY)).mask;
    expect((await gpuMask(m, 0.2, { ...KEY })).mask).toEqual(base);
    // Two independent masks at keep rate 0.8 agree on 0.8² + 0.2² = 0.68 of elements (σ ≈ 0.0033).
    for (const other of [{ ...KEY, seed: KEY.seed + 1 }, { ...KEY, step: KEY.step + 1 }, { ...KEY, tensorId: KEY.tensorId + 1 }]) {
      const mask = (await gpuMask(m, 0.2, other)).mask;
      let agree = 0;
      for (let i = 0; i < m; i++) agree += mask[i] === base[i] ? 1 : 0;
      expect(Math.abs(agree / m - 0.68), JSON.stringify(other)).toBeLessThan(0.02);
      expect(mask).toEqual(dropoutMaskRef(m, 0.2, other));
    }
  });
});

describe('dropout reference backward vs finite differences', () => {
  it('dL/dx of L = Σ w ⊙ dropout(x) equals dropout(w)', () => {
    const n = 50;
    const x = uniform(n, 20);
    const w = uniform(n, 21);
    const eps = 1e-2;
    const analytic = dropoutRef(w, 0.2, KEY);
    const fd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const plus = Float32Array.from(x);
      const minus = Float32Array.from(x);
      plus[i]! += eps;
      minus[i]! -= eps;
      const yp = dropoutRef(plus, 0.2, KEY);
      const ym = dropoutRef(minus, 0.2, KEY);
      let lp = 0;
      let lm = 0;
      for (let j = 0; j < n; j++) {
        lp += w[j]! * yp[j]!;
        lm += w[j]! * ym[j]!;
      }
      fd[i] = (lp - lm) / (2 * eps);
    }
    // The op is linear: only the f32 rounding of x ± ε and of y (~1e-7 · 1.25 / 2ε) separates the two.
    expectClose(fd, analytic, { atol: 2e-5, rtol: 1e-5 }, 'FD vs dropout(w)');
  });

  it('rejects overlapping views and probabilities outside [0, 1]', async () => {
    const x = await t('x', new Float32Array(8));
    expect(() => dropoutForward(gpu, x, x, 8, 1.5, KEY)).toThrow(/E008 .*probability/);
    expect(() => dropoutBackward(gpu, x, x, 8, 0.2, KEY, { accumulate: true })).toThrow(/E008/);
  });
});
