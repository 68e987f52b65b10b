import { beforeAll, describe, expect, it } from 'vitest';
import { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { expectClose } from '../../testing/expectClose';
import { uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import {
  addForward,
  addScaledInPlace,
  gatedMixBackward,
  gatedMixForward,
  scaleForward,
  scaleInPlace,
  sigmoidBackward,
  sigmoidForward,
  siluBackward,
  siluForward,
  subForward,
  swigluBackward,
  swigluForward,
} from './elementwise';
import {
  addRef,
  axpyRef,
  gatedMixBackwardRef,
  gatedMixForwardRef,
  scaleRef,
  sigmoidBackwardRef,
  sigmoidForwardRef,
  siluBackwardRef,
  siluForwardRef,
  subRef,
  swigluBackwardRef,
  swigluForwardRef,
} from './elementwise.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// One or two f32 roundings per op against an f64 reference: 1e-6 relative would do for the
// arithmetic; exp() on the GPU is allowed a few ULP more (WGSL: 3 + 2·|x| ULP), and silu'(x) has a
// zero near x ≈ −1.28 where only an absolute bound makes sense.
const TOL = { atol: 1e-6, rtol: 1e-5 };

async function t(name: string, data: Float32Array): Promise<Tensor> {
  return upload(gpu, name, data, [data.length]);
}

const plus = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]!);

describe.each([1, 7, 1000, 65537])('elementwise ops, n = %i, GPU vs reference', (n) => {
  // Activation inputs span [−8, 8) so sigmoid/silu see both tails; gates γ lie in [0, 1).
  const a = uniform(n, 11, -8, 8);
  const b = uniform(n, 12, -8, 8);
  const c = uniform(n, 13, -2, 2);
  const d = uniform(n, 14, -1, 1);
  const gamma = uniform(n, 15, 0, 1);
  const prior = uniform(n, 16, -1, 1); // what accumulating outputs start from

  it('add, sub, scale, axpy', async () => {
    const [ta, tb, out] = [await t('a', a), await t('b', b), await t('out', new Float32Array(n))];
    addForward(gpu, ta, tb, out, n);
    expectClose(await gpu.read(out), addRef(a, b), TOL, 'add');
    subForward(gpu, ta, tb, out, n);
    expectClose(await gpu.read(out), subRef(a, b), TOL, 'sub');
    scaleForward(gpu, ta, out, n, -0.37);
    expectClose(await gpu.read(out), scaleRef(a, -0.37), TOL, 'scale');
    const y = await t('y', prior);
    addScaledInPlace(gpu, y, ta, n, 0.1);
    expectClose(await gpu.read(y), axpyRef(prior, a, 0.1), TOL, 'axpy y += 0.1·x');
  });

  it('silu and sigmoid forward/backward (overwrite and accumulate)', async () => {
    const [x, dy, y, dx] = [await t('x', a), await t('dy', d), await t('y', new Float32Array(n)), await t('dx', prior)];
    siluForward(gpu, x, y, n);
    expectClose(await gpu.read(y), siluForwardRef(a), TOL, 'silu forward');
    siluBackward(gpu, x, dy, dx, n);
    expectClose(await gpu.read(dx), siluBackwardRef(a, d), TOL, 'silu backward =');
    gpu.write(dx, prior);
    siluBackward(gpu, x, dy, dx, n, true);
    expectClose(await gpu.read(dx), plus(prior, siluBackwardRef(a, d)), TOL, 'silu backward +=');

    sigmoidForward(gpu, x, y, n);
    const yGpu = await gpu.read(y);
    expectClose(yGpu, sigmoidForwardRef(a), TOL, 'sigmoid forward');
    // The backward consumes the saved output; feed it the GPU's own output as the model will.
    sigmoidBackward(gpu, y, dy, dx, n);
    expectClose(await gpu.read(dx), sigmoidBackwardRef(yGpu, d), TOL, 'sigmoid backward =');
    gpu.write(dx, prior);
    sigmoidBackward(gpu, y, dy, dx, n, true);
    expectClose(await gpu.read(dx), plus(prior, sigmoidBackwardRef(yGpu, d)), TOL, 'sigmoid backward +=');
  });

  it('swiglu forward/backward (dg accumulated, du overwritten)', async () => {
    const [g, u, dy, y] = [await t('g', a), await t('u', c), await t('dy', d), await t('y', new Float32Array(n))];
    const [dg, du] = [await t('dg', prior), await t('du', prior)];
    swigluForward(gpu, g, u, y, n);
    expectClose(await gpu.read(y), swigluForwardRef(a, c), TOL, 'swiglu forward');
    swigluBackward(gpu, { g, u, dy, dg, du, n, accumulate: { dg: true } });
    const want = swigluBackwardRef(a, c, d);
    expectClose(await gpu.read(dg), plus(prior, want.dg), TOL, 'swiglu dg +=');
    expectClose(await gpu.read(du), want.du, TOL, 'swiglu du =');
  });

  it('gated mix forward/backward (dS and dT accumulated, dGamma overwritten)', async () => {
    const [s, gm, tt, dOut, out] = [await t('s', c), await t('gamma', gamma), await t('t', b), await t('dOut', d), await t('out', new Float32Array(n))];
    const [dS, dGamma, dT] = [await t('dS', prior), await t('dGamma', prior), await t('dT', prior)];
    gatedMixForward(gpu, s, gm, tt, out, n);
    expectClose(await gpu.read(out), gatedMixForwardRef(c, gamma, b), TOL, 'gated mix forward');
    gatedMixBackward(gpu, { s, gamma: gm, t: tt, dOut, dS, dGamma, dT, n, accumulate: { dS: true, dT: true } });
    const want = gatedMixBackwardRef(c, gamma, b, d);
    expectClose(await gpu.read(dS), plus(prior, want.dS), TOL, 'gated mix dS +=');
    expectClose(await gpu.read(dGamma), want.dGamma, TOL, 'gated mix dGamma =');
    expectClose(await gpu.read(dT), plus(prior, want.dT), TOL, 'gated mix dT +=');
  });
});

describe('elementwise: extreme inputs, aliasing, partial views, grid', () => {
  it('sigmoid / silu / swiglu stay finite and correct for |x| up to 1e4', async () => {
    const xs = new Float32Array([-1e4, -100, -89, -88, -80, -50, -20, -1e-3, 0, 1e-3, 20, 50, 80, 88, 89, 100, 1e4]);
    const n = xs.length;
    const ones = new Float32Array(n).fill(1);
    const [x, dy, y, dx] = [await t('x', xs), await t('dy', ones), await t('y', new Float32Array(n)), await t('dx', new Float32Array(n))];
    const [u, dg, du] = [await t('u', ones), await t('dg', new Float32Array(n)), await t('du', new Float32Array(n))];
    const check = (got: Float32Array, want: ArrayLike<number>, label: string) => {
      for (const v of got) if (!Number.isFinite(v)) throw new Error(`${label}: non-finite output ${v} for inputs ${xs.join(', ')}: ${got.join(', ')}`);
      // Tails are ~1e-35 or exactly x; a tiny atol covers denormal flushing on the GPU.
      expectClose(got, want, { atol: 1e-30, rtol: 1e-5 }, label);
    };
    sigmoidForward(gpu, x, y, n);
    const yGpu = await gpu.read(y);
    check(yGpu, sigmoidForwardRef(xs), 'sigmoid forward');
    sigmoidBackward(gpu, y, dy, dx, n);
    check(await gpu.read(dx), sigmoidBackwardRef(yGpu, ones), 'sigmoid backward');
    siluForward(gpu, x, y, n);
    check(await gpu.read(y), siluForwardRef(xs), 'silu forward');
    siluBackward(gpu, x, dy, dx, n);
    check(await gpu.read(dx), siluBackwardRef(xs, ones), 'silu backward');
    swigluBackward(gpu, { g: x, u, dy, dg, du, n });
    const want = swigluBackwardRef(xs, ones, ones);
    check(await gpu.read(dg), want.dg, 'swiglu dg');
    check(await gpu.read(du), want.du, 'swiglu du');
  });

  it('views of one buffer (as an arena lays them out), in-place scaling, overlap refused', async () => {
    const n = 300;
    const align = gpu.caps.limits.minStorageBufferOffsetAlignment;
    const stride = Math.ceil((n * 4) / align) * align; // bytes between views
    const buffer = await gpu.createBuffer('arena-like', 3 * stride);
    const view = (i: number, name: string): Tensor => ({ buffer, offset: i * stride, shape: [n], dtype: 'f32', name });
    const [va, vb, vo] = [view(0, 'a'), view(1, 'b'), view(2, 'out')];
    const a = uniform(n, 21);
    const b = uniform(n, 22);
    gpu.write(va, a);
    gpu.write(vb, b);
    addForward(gpu, va, vb, vo, n);
    expectClose(await gpu.read(vo), addRef(a, b), TOL, 'add across views of one buffer');
    siluForward(gpu, vb, vo, n);
    expectClose(await gpu.read(vo), siluForwardRef(b), TOL, 'silu across views of one buffer');
    scaleInPlace(gpu, va, n, 3);
    expectClose(await gpu.read(va), scaleRef(a, 3), TOL, 'scale in place');
    expectClose(await gpu.read(vb), b, { atol: 0, rtol: 0 }, 'neighbouring view untouched');
    // Overlapping writable bindings are refused by WebGPU; the wrapper names the tensors first.
    expect(() => siluForward(gpu, va, va, n)).toThrow(/E008 .*'a' and 'a' overlap/);
    const shifted: Tensor = { buffer, offset: stride, shape: [2 * n], dtype: 'f32', name: 'b+out' };
    expect(() => addForward(gpu, va, shifted, vo, n)).toThrow(/E008 .*'b\+out' and 'out' overlap/);
  });

  it('touches only the first n elements of a larger tensor', async () => {
    const prior = uniform(50, 31);
    const out = await t('out', prior);
    const ones = await t('ones', new Float32Array(50).fill(1));
    const twos = await t('twos', new Float32Array(50).fill(2));
    addForward(gpu, ones, twos, out, 13);
    const got = await gpu.read(out);
    const want = Float64Array.from(prior, (v, i) => (i < 13 ? 3 : v));
    expectClose(got, want, { atol: 0, rtol: 0 }, 'first 13 written, rest kept');
  });

  it('linearises a 2-D workgroup grid (device limit lowered to 20 workgroups per dimension)', async () => {
    // A Gpu on the same device whose lowered limit makes gpu.grid split 257 workgroups into 20 × 13
    // (260: the last three are past n and must do nothing), as n > 65535·256 does on a real device.
    const limits = { ...gpu.caps.limits, maxComputeWorkgroupsPerDimension: 20 };
    const small = new Gpu(gpu.device, { ...gpu.caps, limits });
    expect(small.grid(257)).toEqual([20, 13, 1]);
    const n = 65537;
    const a = uniform(n, 41);
    const b = uniform(n, 42);
    const c = uniform(n, 43);
    const [ta, tb, tc, out] = [await t('a', a), await t('b', b), await t('c', c), await t('out', new Float32Array(n))];
    gatedMixForward(small, ta, tb, tc, out, n);
    expectClose(await small.read(out), gatedMixForwardRef(a, b, c), TOL, 'gated mix over a split grid');
  });

  it('rejects a tensor too small for the element count, naming it', async () => {
    const small = await t('tiny', new Float32Array(3));
    const big = await t('big', new Float32Array(10));
    expect(() => addForward(gpu, big, small, big, 10)).toThrow(/E008 .*'tiny'/);
  });
});

describe('elementwise reference backward vs central finite differences (f64)', () => {
  // L = Σ w ⊙ f(inputs); the ops are elementwise, so perturbing every element of one input at once
  // gives each element's partial derivative: (f(x+ε) − f(x−ε)) / 2ε, times w.
  const n = 64;
  const eps = 1e-4;
  // Central differences in f64 with ε = 1e-4: truncation ~ε²·f''' ≈ 1e-8, rounding ~1e-16/ε.
  const FD_TOL = { atol: 1e-7, rtol: 1e-6 };
  const w = Float64Array.from(uniform(n, 51));
  const x = Float64Array.from(uniform(n, 52, -6, 6));
  const u = Float64Array.from(uniform(n, 53, -2, 2));
  const z = Float64Array.from(uniform(n, 54, 0, 1));
  const shift = (v: Float64Array, e: number) => v.map((q) => q + e);
  const fd = (f: (e: number) => ArrayLike<number>) => {
    const hi = f(eps);
    const lo = f(-eps);
    return Float64Array.from(w, (wi, i) => (wi * (hi[i]! - lo[i]!)) / (2 * eps));
  };

  it('silu', () => {
    expectClose(siluBackwardRef(x, w), fd((e) => siluForwardRef(shift(x, e))), FD_TOL, 'silu dx');
  });

  it('sigmoid (backward from the output)', () => {
    expectClose(sigmoidBackwardRef(sigmoidForwardRef(x), w), fd((e) => sigmoidForwardRef(shift(x, e))), FD_TOL, 'sigmoid dx');
  });

  it('swiglu', () => {
    const { dg, du } = swigluBackwardRef(x, u, w);
    expectClose(dg, fd((e) => swigluForwardRef(shift(x, e), u)), FD_TOL, 'swiglu dg');
    expectClose(du, fd((e) => swigluForwardRef(x, shift(u, e))), FD_TOL, 'swiglu du');
  });

  it('gated mix', () => {
    const { dS, dGamma, dT } = gatedMixBackwardRef(x, z, u, w);
    expectClose(dS, fd((e) => gatedMixForwardRef(shift(x, e), z, u)), FD_TOL, 'gated mix dS');
    expectClose(dGamma, fd((e) => gatedMixForwardRef(x, shift(z, e), u)), FD_TOL, 'gated mix dGamma');
    expectClose(dT, fd((e) => gatedMixForwardRef(x, z, shift(u, e))), FD_TOL, 'gated mix dT');
  });
});
