import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime';
import { expectClose } from '../../testing/expectClose';
import { normal, uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { createGradNormState, globalGradNorm } from '../gradnorm/gradnorm';
import { clipScaleRef, sumOfSquaresRef } from '../gradnorm/gradnorm.ref';
import { adamwStep } from './adamw';
import type { AdamWHyper } from './adamw';
import { adamwRef } from './adamw.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const HYPER: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
const STEPS = 5;

// The reference rounds every operation to f32 in torch's order; the GPU may contract a·b + c into an
// fma and its division and sqrt are within ~2.5 ulp, so each step may differ by a few ulp. Over 5
// steps that stays below 1e-6 on parameters of size ≤ 1, against updates of ~lr = 1e-2 per step.
const P_TOL = { atol: 1e-6, rtol: 1e-6 };
// m and v: a few ulp relative; m passes near zero when the grad flips sign, hence the small atol.
const M_TOL = { atol: 1e-8, rtol: 1e-5 };
const V_TOL = { atol: 1e-12, rtol: 1e-5 };

/** Gradients of one step: N(0, 1) with every 7th element zero (v = 0 there at the first step). */
function stepGrad(n: number, step: number): Float32Array {
  const g = normal(n, 100 + step);
  for (let i = 0; i < n; i += 7) g[i] = 0;
  return g;
}

async function runSteps(n: number, hyper: AdamWHyper, decay: boolean, gradScale: number) {
  const p0 = uniform(n, 1);
  const param = await upload(gpu, 'param', p0, [n]);
  const grad = await gpu.createTensor('grad', [n]);
  const m = await gpu.createTensor('m', [n]);
  const v = await gpu.createTensor('v', [n]);
  gpu.zero(m);
  gpu.zero(v);
  const scale = await upload(gpu, 'gradScale', Float32Array.of(gradScale), [1]);
  const ref = { p: new Float32Array(p0), m: new Float32Array(n), v: new Float32Array(n) };
  for (let step = 1; step <= STEPS; step++) {
    const g = stepGrad(n, step);
    gpu.write(grad, g);
    adamwStep(gpu, { param, grad, m, v, gradScale: scale, n, step, decay, ...hyper });
    adamwRef(ref.p, g, ref.m, ref.v, hyper, step, decay, gradScale);
  }
  return { p0, p: await gpu.read(param), m: await gpu.read(m), v: await gpu.read(v), ref };
}

describe('adamw against the f32 reference over 5 steps', () => {
  for (const n of [1, 1000, 70_001]) {
    for (const decay of [true, false]) {
      it(`n ${n}, ${decay ? 'with' : 'without'} weight decay`, async () => {
        const r = await runSteps(n, HYPER, decay, 1);
        expectClose(r.p, r.ref.p, P_TOL, 'param');
        expectClose(r.m, r.ref.m, M_TOL, 'm');
        expectClose(r.v, r.ref.v, V_TOL, 'v');
      });
    }
  }

  it('gradScale 0.37 and β1 0.3 (the other branch of torch.lerp), n 1000', async () => {
    const hyper = { ...HYPER, beta1: 0.3, beta2: 0.95 };
    const r = await runSteps(1000, hyper, true, 0.37);
    expectClose(r.p, r.ref.p, P_TOL, 'param');
    expectClose(r.m, r.ref.m, M_TOL, 'm');
    expectClose(r.v, r.ref.v, V_TOL, 'v');
  });
});

describe('adamw reference', () => {
  it('first step is p·(1 − lr·wd) − lr·g / (|g| + eps) (bias correction undoes the moments)', () => {
    const n = 64;
    const p = uniform(n, 3);
    const g = normal(n, 4);
    const decayed = p.map((x) => x * (1 - HYPER.lr * HYPER.weightDecay));
    const kept = new Float32Array(p);
    adamwRef(p, g, new Float32Array(n), new Float32Array(n), HYPER, 1, true);
    adamwRef(kept, g, new Float32Array(n), new Float32Array(n), HYPER, 1, false);
    const step = Array.from(g, (x) => (HYPER.lr * x) / (Math.abs(x) + HYPER.eps));
    // f32 rounding of p and of the moments: ~1e-7 absolute on values ≤ 1.
    expectClose(p, Array.from(decayed, (x, i) => x - step[i]!), { atol: 3e-7, rtol: 0 }, 'with decay');
    expectClose(kept, Array.from(uniform(n, 3), (x, i) => x - step[i]!), { atol: 3e-7, rtol: 0 }, 'without decay');
  });
});

describe('adamw NaN guard (skipIfSet)', () => {
  for (const flag of [0, 1]) {
    it(`flag ${flag}: ${flag ? 'param, m and v stay untouched' : 'the step happens as without a flag'}`, async () => {
      const n = 777;
      const p0 = uniform(n, 12);
      const m0 = normal(n, 13, 0.1);
      const v0 = uniform(n, 14, 0, 0.01);
      const g = normal(n, 15);
      const param = await upload(gpu, 'param', p0, [n]);
      const grad = await upload(gpu, 'grad', g, [n]);
      const m = await upload(gpu, 'm', m0, [n]);
      const v = await upload(gpu, 'v', v0, [n]);
      const gradScale = await upload(gpu, 'gradScale', Float32Array.of(1), [1]);
      const skipIfSet = await upload(gpu, 'skip', Uint32Array.of(flag), [1], 'u32');
      adamwStep(gpu, { param, grad, m, v, gradScale, skipIfSet, n, step: 3, decay: true, ...HYPER });
      const ref = { p: new Float32Array(p0), m: new Float32Array(m0), v: new Float32Array(v0) };
      if (!flag) adamwRef(ref.p, g, ref.m, ref.v, HYPER, 3, true);
      expectClose(await gpu.read(param), ref.p, P_TOL, 'param');
      expectClose(await gpu.read(m), ref.m, M_TOL, 'm');
      expectClose(await gpu.read(v), ref.v, V_TOL, 'v');
    });
  }
});

describe('adamw with the clip scale computed on the GPU', () => {
  it('reads gradScale from the gradnorm buffer (clipping to maxNorm 5)', async () => {
    const n = 3001;
    const g = normal(n, 9); // norm ≈ sqrt(3001) ≈ 55, so the scale is ≈ 0.09
    const p0 = uniform(n, 10);
    const param = await upload(gpu, 'param', p0, [n]);
    const grad = await upload(gpu, 'grad', g, [n]);
    const m = await upload(gpu, 'm', new Float32Array(n), [n]);
    const v = await upload(gpu, 'v', new Float32Array(n), [n]);
    const state = await createGradNormState(gpu, [n]);
    globalGradNorm(gpu, [grad], state, 5);
    adamwStep(gpu, { param, grad, m, v, gradScale: state.scale, skipIfSet: state.nonFinite, n, step: 1, decay: true, ...HYPER });
    const gpuScale = (await gpu.read(state.scale))[0]!;
    const wantScale = clipScaleRef(Math.fround(Math.sqrt(sumOfSquaresRef([g]))), 5);
    expect(Math.abs(gpuScale - wantScale)).toBeLessThan(1e-5 * wantScale);
    expect(wantScale).toBeLessThan(0.2);
    const ref = { p: new Float32Array(p0), m: new Float32Array(n), v: new Float32Array(n) };
    adamwRef(ref.p, g, ref.m, ref.v, HYPER, 1, true, gpuScale);
    expectClose(await gpu.read(param), ref.p, P_TOL, 'param');
    expectClose(await gpu.read(m), ref.m, M_TOL, 'm');
  });
});
