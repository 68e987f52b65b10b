import { beforeAll, describe, expect, it } from 'vitest';
import { Arena } from '../../arena';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { expectClose } from '../../testing/expectClose';
import { normal } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { clipGradScale, createGradNormState, globalGradNorm, gradNormPartialCount, sumOfSquares } from './gradnorm';
import { clipScaleRef, hasNonFiniteRef, sumOfSquaresRef } from './gradnorm.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// Sizes: 1, a prime, one workgroup span (2048) + 1, and 200k (98 partial workgroups).
const SIZES = [1, 7, 1009, 2049, 200_000];

/** Gradients as views of one arena (offsets ≠ 0, as in training), filled with N(0, 0.1²). */
async function uploadGrads(data: Float32Array[]): Promise<Tensor[]> {
  const arena = new Arena('grads');
  data.forEach((d, i) => arena.add(`g${i}`, [d.length]));
  const views = await arena.allocate(gpu);
  return data.map((d, i) => {
    const t = views.get(`g${i}`)!;
    gpu.write(t, d);
    return t;
  });
}

function makeGrads(seed = 1): Float32Array[] {
  return SIZES.map((n, i) => normal(n, seed + i, 0.1));
}

// An f32 sum of ≤ 200k positive squares: 8 sequential adds per invocation, then tree levels, so the
// relative rounding error stays below ~20 ulp (~2e-6); 1e-5 leaves margin.
const SUM_TOL = { atol: 0, rtol: 1e-5 };

describe('sumOfSquares', () => {
  it('accumulates Σ x² over many tensors into out (+=), flag clear', async () => {
    const data = makeGrads();
    const grads = await uploadGrads(data);
    const out = await upload(gpu, 'out', Float32Array.of(2.5), [1]);
    const nonFinite = await upload(gpu, 'nonFinite', Uint32Array.of(0), [1], 'u32');
    const partials = await gpu.createTensor('partials', [gradNormPartialCount(SIZES)]);
    sumOfSquares(gpu, grads, out, { partials, nonFinite });
    expectClose(await gpu.read(out), [2.5 + sumOfSquaresRef(data)], SUM_TOL, 'sum of squares');
    expect((await gpu.readU32(nonFinite))[0]).toBe(0);
  });

  it('one tensor of one element', async () => {
    const grads = await uploadGrads([Float32Array.of(-3)]);
    const out = await upload(gpu, 'out', Float32Array.of(0), [1]);
    const nonFinite = await upload(gpu, 'nonFinite', Uint32Array.of(0), [1], 'u32');
    sumOfSquares(gpu, grads, out, { partials: await gpu.createTensor('partials', [1]), nonFinite });
    expectClose(await gpu.read(out), [9], { atol: 0, rtol: 0 }, '(-3)²'); // exact in f32
  });

  for (const [what, value, tensor, index] of [
    ['NaN', NaN, 4, 123_457],
    ['+Inf', Infinity, 3, 2048],
    ['-Inf', -Infinity, 0, 0],
  ] as const) {
    it(`flags a ${what} in tensor ${tensor} at [${index}]`, async () => {
      const data = makeGrads(3);
      data[tensor]![index] = value;
      expect(hasNonFiniteRef(data)).toBe(true);
      const grads = await uploadGrads(data);
      const out = await upload(gpu, 'out', Float32Array.of(0), [1]);
      const nonFinite = await upload(gpu, 'nonFinite', Uint32Array.of(0), [1], 'u32');
      sumOfSquares(gpu, grads, out, { partials: await gpu.createTensor('partials', [gradNormPartialCount(SIZES)]), nonFinite });
      expect((await gpu.readU32(nonFinite))[0]).toBe(1);
      const sum = (await gpu.read(out))[0]!;
      expect(Number.isNaN(value) ? Number.isNaN(sum) : sum === Infinity).toBe(true);
    });
  }

  it('refuses a partials buffer too small for the tensors', async () => {
    const grads = await uploadGrads([new Float32Array(5000)]);
    const out = await gpu.createTensor('out', [1]);
    const nonFinite = await gpu.createTensor('nonFinite', [1], 'u32');
    const partials = await gpu.createTensor('partials', [2]);
    expect(() => sumOfSquares(gpu, grads, out, { partials, nonFinite })).toThrow(/E008 .*need 3/);
  });
});

describe('clip scale and the whole measurement', () => {
  // sqrt and division on the GPU are within a few ulp; the reference is torch's f32 formula.
  const CLIP_TOL = { atol: 0, rtol: 1e-6 };

  for (const [sumSq, maxNorm] of [
    [0.25, 1],
    [1, 1],
    [13.69, 1],
    [1e-14, 0.5],
    [4, undefined],
  ] as const) {
    it(`sumSq ${sumSq}, maxNorm ${maxNorm ?? 'none'}`, async () => {
      const s = await upload(gpu, 'sumSq', Float32Array.of(sumSq), [1]);
      const norm = await gpu.createTensor('norm', [1]);
      const scale = await gpu.createTensor('scale', [1]);
      const nonFinite = await upload(gpu, 'nonFinite', Uint32Array.of(0), [1], 'u32');
      clipGradScale(gpu, { sumSq: s, norm, scale, nonFinite, maxNorm });
      const wantNorm = Math.fround(Math.sqrt(Math.fround(sumSq)));
      expectClose(await gpu.read(norm), [wantNorm], CLIP_TOL, 'norm');
      expectClose(await gpu.read(scale), [clipScaleRef(wantNorm, maxNorm)], CLIP_TOL, 'scale');
      expect((await gpu.readU32(nonFinite))[0]).toBe(0);
    });
  }

  it('sets the flag when the norm is not finite (NaN or Inf sum)', async () => {
    for (const sumSq of [NaN, Infinity]) {
      const s = await upload(gpu, 'sumSq', Float32Array.of(sumSq), [1]);
      const nonFinite = await upload(gpu, 'nonFinite', Uint32Array.of(0), [1], 'u32');
      const norm = await gpu.createTensor('norm', [1]);
      clipGradScale(gpu, { sumSq: s, norm, scale: await gpu.createTensor('scale', [1]), nonFinite, maxNorm: 1 });
      expect((await gpu.readU32(nonFinite))[0]).toBe(1);
    }
  });

  it('finite gradients whose squares overflow f32 also set the flag', async () => {
    const data = [Float32Array.of(1, 3e19, -2), new Float32Array(10)];
    expect(hasNonFiniteRef(data)).toBe(false);
    const grads = await uploadGrads(data);
    const state = await createGradNormState(gpu, [3, 10]);
    globalGradNorm(gpu, grads, state, 1);
    expect((await gpu.read(state.norm))[0]).toBe(Infinity);
    expect((await gpu.readU32(state.nonFinite))[0]).toBe(1);
  });

  it('globalGradNorm clears its state each step and finds a NaN only in the step that has one', async () => {
    const data = makeGrads(7);
    const grads = await uploadGrads(data);
    const state = await createGradNormState(gpu, SIZES);
    const wantNorm = Math.sqrt(sumOfSquaresRef(data));
    const maxNorm = wantNorm / 2; // a clipping step: scale ≈ 0.5
    for (let step = 0; step < 2; step++) {
      globalGradNorm(gpu, grads, state, maxNorm);
      expectClose(await gpu.read(state.norm), [wantNorm], SUM_TOL, `step ${step} norm`);
      expectClose(await gpu.read(state.scale), [clipScaleRef(wantNorm, maxNorm)], SUM_TOL, `step ${step} scale`);
      expect((await gpu.readU32(state.nonFinite))[0]).toBe(0);
    }
    gpu.write(grads[2]!, Float32Array.of(NaN), 500);
    globalGradNorm(gpu, grads, state, maxNorm);
    expect((await gpu.readU32(state.nonFinite))[0]).toBe(1);
    gpu.write(grads[2]!, Float32Array.of(0.25), 500);
    globalGradNorm(gpu, grads, state, maxNorm);
    expect((await gpu.readU32(state.nonFinite))[0]).toBe(0);
  });
});
