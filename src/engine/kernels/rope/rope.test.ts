import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { expectClose } from '../../testing/expectClose';
import { rng, uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { ropeBackward, ropeForward } from './rope';
import { ropeRef } from './rope.ref';
import { ropeInvFreq } from './ropeInvFreq';
import type { RopeScaling } from './ropeInvFreq';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

/** HF's left-padding positions: cumsum(mask) − 1, with padded slots set to 1. */
function paddedPositions(T: number, pad: number): number[] {
  return Array.from({ length: T }, (_, t) => (t < pad ? 1 : t - pad));
}

interface Case {
  label: string;
  B: number;
  T: number;
  NH: number;
  HS: number;
  theta: number;
  positions: number[]; // (B·T)
  scaling?: RopeScaling;
  /** Give inv_freq from the host (else the shader derives it from theta). */
  hostInvFreq: boolean;
  inPlace: boolean;
  posDtype: 'u32' | 'i32';
}

const llama3: RopeScaling = { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
const r = rng(99);
const cases: Case[] = [
  { label: 'HS 8, NH 1, B 2 × T 5, second row left-padded by 2', B: 2, T: 5, NH: 1, HS: 8, theta: 10000, positions: [...paddedPositions(5, 0), ...paddedPositions(5, 2)], hostInvFreq: true, inPlace: false, posDtype: 'i32' },
  { label: 'HS 64, NH 3, θ 1e6, positions 2045..2048 and a padded row, in place', B: 2, T: 4, NH: 3, HS: 64, theta: 1e6, positions: [2045, 2046, 2047, 2048, ...paddedPositions(4, 1)], hostInvFreq: true, inPlace: true, posDtype: 'u32' },
  { label: 'HS 128, NH 3, llama3 scaling, random positions ≤ 2048', B: 1, T: 6, NH: 3, HS: 128, theta: 500000, positions: [0, 2048, ...Array.from({ length: 4 }, () => Math.floor(r() * 2049))], scaling: llama3, hostInvFreq: true, inPlace: false, posDtype: 'u32' },
  { label: 'HS 64, NH 1, B 3 × T 3, inv_freq derived in the shader, positions ≤ 64', B: 3, T: 3, NH: 1, HS: 64, theta: 10000, positions: [0, 1, 2, 62, 63, 64, ...paddedPositions(3, 2)], hostInvFreq: false, inPlace: false, posDtype: 'i32' },
];

async function setup(c: Case, seed: number) {
  const rows = c.B * c.T;
  const n = rows * c.NH * c.HS;
  const xData = uniform(n, seed);
  const invFreq = ropeInvFreq(c.HS, c.theta, c.scaling);
  const posData = c.posDtype === 'u32' ? Uint32Array.from(c.positions) : Int32Array.from(c.positions);
  const x = await upload(gpu, 'x', xData, [c.B, c.T, c.NH, c.HS]);
  const y = c.inPlace ? x : await gpu.createTensor('y', [c.B, c.T, c.NH, c.HS]);
  const shape = {
    pos: await upload(gpu, 'pos', posData, [c.B, c.T], c.posDtype),
    ...(c.hostInvFreq ? { invFreq: await upload(gpu, 'inv_freq', invFreq, [c.HS / 2]) } : { theta: c.theta }),
    rows,
    NH: c.NH,
    HS: c.HS,
  };
  return { rows, xData, invFreq, x, y, shape };
}

// With HF's exact f32 angle on both sides, only our sin/cos (≈1e-7) and f32 products (|x| ≤ 1) differ.
const HOST_TOL = { atol: 2e-6, rtol: 1e-6 };
// Shader-derived inv_freq is a few ulp (~4e-7 relative) off, moving angles ≤ 64 rad by up to ~3e-5.
const SHADER_TOL = { atol: 5e-5, rtol: 0 };

describe('rope forward: GPU against the CPU reference', () => {
  for (const c of cases) {
    it(c.label, async () => {
      const { rows, xData, invFreq, x, y, shape } = await setup(c, 1);
      ropeForward(gpu, { ...shape, x, y });
      const want = ropeRef(xData, c.positions, invFreq, rows, c.NH, c.HS, 1);
      expectClose(await gpu.read(y), want, c.hostInvFreq ? HOST_TOL : SHADER_TOL, c.label);
    });
  }
});

describe('rope backward: GPU against the CPU reference', () => {
  for (const c of cases) {
    it(c.label, async () => {
      const { rows, xData, invFreq, x: dy, y: dx, shape } = await setup(c, 2);
      ropeBackward(gpu, { ...shape, dy, dx });
      const want = ropeRef(xData, c.positions, invFreq, rows, c.NH, c.HS, -1);
      expectClose(await gpu.read(dx), want, c.hostInvFreq ? HOST_TOL : SHADER_TOL, c.label);
    });
  }

  it('backward undoes forward on the GPU (HS 128, in place, positions ≤ 2048)', async () => {
    const c = cases[2]!;
    const { xData, x, shape } = await setup({ ...c, inPlace: true }, 3);
    ropeForward(gpu, { ...shape, x, y: x });
    ropeBackward(gpu, { ...shape, dy: x, dx: x });
    // Two rotations, each with ≈1e-7 sin/cos error and f32 rounding on values ≤ 1.
    expectClose(await gpu.read(x), xData, { atol: 2e-6, rtol: 0 }, 'R(−a)·R(a)·x');
  });
});

describe('rope reference', () => {
  it('backward equals finite differences of the forward (L = Σ y·g), HS 6, NH 2, 3 rows', () => {
    const rows = 3;
    const NH = 2;
    const HS = 6;
    const pos = [0, 5, 17];
    const invFreq = ropeInvFreq(HS, 10000);
    const x = Float64Array.from(uniform(rows * NH * HS, 4));
    const g = Float64Array.from(uniform(rows * NH * HS, 5));
    const loss = () => ropeRef(x, pos, invFreq, rows, NH, HS, 1).reduce((s, v, i) => s + v * g[i]!, 0);
    const dx = ropeRef(g, pos, invFreq, rows, NH, HS, -1);
    const h = 1e-5;
    const fd = Array.from(x, (_, i) => {
      const v = x[i]!;
      x[i] = v + h;
      const up = loss();
      x[i] = v - h;
      const down = loss();
      x[i] = v;
      return (up - down) / (2 * h);
    });
    // L is linear in x, so only cancellation error (≈1e-16/h) remains.
    expectClose(dx, fd, { atol: 1e-9, rtol: 1e-9 }, 'dx vs FD');
  });

  it('default inv_freq is θ^(−2d/HS) rounded to f32', () => {
    // θ = 10000, HS 8: exponents 0, 1/4, 1/2, 3/4 of 10⁴.
    expectClose(ropeInvFreq(8, 10000), [1, 0.1, 0.01, 0.001], { atol: 0, rtol: 1e-7 }, 'inv_freq');
    expect(ropeInvFreq(8, 10000)[0]).toBe(1);
  });

  it('linear scaling divides by the factor', () => {
    expectClose(ropeInvFreq(8, 10000, { ropeType: 'linear', factor: 4 }), [0.25, 0.025, 0.0025, 0.00025], { atol: 0, rtol: 1e-7 }, 'inv_freq');
  });

  it('llama3 scaling matches a hand computation for HS 8, θ 10⁴, factor 8, low 1, high 4, original 64', () => {
    // Wavelengths 2π/inv = 2π·{1, 10, 100, 1000}; low_freq_wavelen = 64/1 = 64, high_freq_wavelen = 64/4 = 16.
    //   d 0: 6.28 < 16          → high frequency, kept: 1
    //   d 1: 62.8 in [16, 64]   → smooth = (64/(20π) − 1)/(4 − 1); (1 − smooth)·0.1/8 + smooth·0.1
    //   d 2, 3: 628, 6283 > 64  → low frequency, divided by 8
    const smooth = (64 / (20 * Math.PI) - 1) / 3;
    const want = [1, ((1 - smooth) * 0.1) / 8 + smooth * 0.1, 0.01 / 8, 0.001 / 8];
    const got = ropeInvFreq(8, 10000, { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 });
    // f32 rounding of each step against the exact f64 formula: a few ulp.
    expectClose(got, want, { atol: 0, rtol: 1e-6 }, 'llama3 inv_freq');
    expect(want[1]).toBeGreaterThan(0.0125); // the blend really lies between the two regimes
    expect(want[1]).toBeLessThan(0.1);
  });

  it('rejects an odd head size and an unknown rope_type', () => {
    expect(() => ropeInvFreq(7, 10000)).toThrow(/even/);
    expect(() => ropeInvFreq(8, 10000, { ropeType: 'yarn' } as unknown as RopeScaling)).toThrow(/yarn.*supported: default, linear, llama3/);
  });
});

describe('rope argument checks', () => {
  it('rejects position ids of the wrong type', async () => {
    const x: Tensor = await gpu.createTensor('x', [1, 2, 1, 4]);
    const pos = await gpu.createTensor('pos', [1, 2], 'f32');
    expect(() => ropeForward(gpu, { x, y: x, pos, theta: 10000, rows: 2, NH: 1, HS: 4 })).toThrow(/E008 rope: position ids \('pos'\) must be u32 or i32/);
  });
});
