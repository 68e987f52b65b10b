import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { KernelSpec } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import source from './adamw.wgsl?raw';

const params = { n: 'u32', decayFactor: 'f32', oneMinusBeta1: 'f32', beta2: 'f32', oneMinusBeta2: 'f32', bc2Sqrt: 'f32', eps: 'f32', negStepSize: 'f32' } as const;
const kernel = new KernelSource('adamw', source, params);
const WG = 256;

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWArgs extends AdamWHyper {
  /** f32 (n): updated in place */
  param: Tensor;
  /** f32 (n): read only */
  grad: Tensor;
  /** f32 (n): first moment, updated in place */
  m: Tensor;
  /** f32 (n): second moment, updated in place */
  v: Tensor;
  /** f32 (1): multiplies every grad element (the clip scale; write 1 to it when not clipping) */
  gradScale: Tensor;
  /** u32 (1), optional: when nonzero the step changes nothing (the gradnorm nonFinite flag: NaN guard) */
  skipIfSet?: Tensor;
  n: number;
  /** 1-based step count t of this update (torch's state['step'] after its increment) */
  step: number;
  /** Whether this tensor's group decays (torch: weight_decay of its param group ≠ 0). */
  decay: boolean;
}

export function adamwVariant(withSkip: boolean): KernelSpec<typeof params> {
  return kernel.variant({ entryPoint: 'main', flags: { SKIP: withSkip }, constants: { WG } });
}

/**
 * The f32 scalars of one step, computed from the hyper-parameters in f64 as torch does in Python
 * (bias corrections 1 − β^t, step size lr / bc1, sqrt(bc2)); packing rounds them to f32 as torch does
 * when it applies a Python scalar to an f32 tensor.
 */
export function adamwScalars(h: AdamWHyper, step: number, decay: boolean) {
  if (!(Number.isInteger(step) && step >= 1)) throw new StudioError(GpuErrorCode.badArgument, `adamw: step must be an integer ≥ 1, got ${step}`);
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  return {
    decayFactor: decay && h.weightDecay !== 0 ? 1 - h.lr * h.weightDecay : 1,
    oneMinusBeta1: 1 - h.beta1,
    beta2: h.beta2,
    oneMinusBeta2: 1 - h.beta2,
    bc2Sqrt: Math.sqrt(bc2),
    eps: h.eps,
    negStepSize: -h.lr / bc1,
  };
}

/** One AdamW step on param (n) with grad, m, v (n); see adamw.wgsl for the exact formula. */
export function adamwStep(gpu: Gpu, a: AdamWArgs): void {
  for (const [what, t, count] of [['param', a.param, a.n], ['grad', a.grad, a.n], ['m', a.m, a.n], ['v', a.v, a.n], ['gradScale', a.gradScale, 1]] as const) {
    if (t.dtype !== 'f32' || numel(t.shape) < count) {
      throw new StudioError(GpuErrorCode.badArgument, `adamw: ${what} '${t.name}' must be f32 with at least ${count} elements, got ${t.dtype} ${t.shape.join('×')}`);
    }
  }
  if (a.skipIfSet && (a.skipIfSet.dtype !== 'u32' || numel(a.skipIfSet.shape) < 1)) throw new StudioError(GpuErrorCode.badArgument, `adamw: skipIfSet '${a.skipIfSet.name}' must be a u32 tensor of one element`);
  const buffers = [a.param, a.grad, a.m, a.v, a.gradScale, ...(a.skipIfSet ? [a.skipIfSet] : [])];
  gpu.dispatch(adamwVariant(a.skipIfSet !== undefined), { n: a.n, ...adamwScalars(a, a.step, a.decay) }, buffers, gpu.grid(Math.ceil(a.n / WG)));
}
