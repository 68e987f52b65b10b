import { adamwStep } from '../engine/kernels/adamw/adamw';
import type { AdamWHyper } from '../engine/kernels/adamw/adamw';
import type { GradNormState } from '../engine/kernels/gradnorm/gradnorm';
import { createGradNormState, globalGradNorm } from '../engine/kernels/gradnorm/gradnorm';
import type { Gpu } from '../engine/runtime';
import { numel } from '../engine/tensor';
import type { ShadowPeftModel } from './shadowModel';
import type { ShadowTensors } from './shadowParams';
import { allocateShadowTensors } from './shadowParams';

export interface StepReport {
  gradNorm: number;
  /** The step was skipped because a gradient was NaN or ±Inf (parameters and moments unchanged). */
  skipped: boolean;
}

/**
 * AdamW over the adapter only (the base has no gradients or moments), with clipping by the global
 * gradient norm and the non-finite guard on the GPU: a bad step changes nothing. Weight decay follows
 * each tensor's spec (none on 1-D tensors, as the authors' recipe).
 */
export class ShadowOptimizer {
  /** Optimizer steps taken (torch's state['step']); skipped steps do not count. */
  step = 0;

  private constructor(
    private readonly gpu: Gpu,
    private readonly model: ShadowPeftModel,
    readonly m: ShadowTensors,
    readonly v: ShadowTensors,
    private readonly norm: GradNormState,
  ) {}

  static async create(model: ShadowPeftModel): Promise<ShadowOptimizer> {
    const gpu = model.gpu;
    const m = await allocateShadowTensors(gpu, model.resolved, 'adam.m', { trainableOnly: true });
    const v = await allocateShadowTensors(gpu, model.resolved, 'adam.v', { trainableOnly: true });
    for (const b of [...m.buffers, ...v.buffers]) gpu.zeroBuffer(b);
    const sizes = model.trainableSpecs.map((s) => numel(s.shape));
    const norm = await createGradNormState(gpu, sizes);
    return new ShadowOptimizer(gpu, model, m, v, norm);
  }

  /** Frees the moments and the norm state (the model's parameters and gradients are the model's). */
  destroy(): void {
    this.gpu.release([...this.m.buffers, ...this.v.buffers, this.norm]);
  }

  /** Clips, then updates every adapter tensor; reads back the norm and the non-finite flag. */
  async apply(hyper: AdamWHyper, maxGradNorm?: number): Promise<StepReport> {
    const { gpu, model } = this;
    const grads = model.trainableSpecs.map((s) => model.grads.byName.get(s.name)!);
    globalGradNorm(gpu, grads, this.norm, maxGradNorm);
    const t = this.step + 1;
    for (const s of model.trainableSpecs) {
      adamwStep(gpu, {
        ...hyper,
        param: model.params.byName.get(s.name)!,
        grad: model.grads.byName.get(s.name)!,
        m: this.m.byName.get(s.name)!,
        v: this.v.byName.get(s.name)!,
        gradScale: this.norm.scale,
        skipIfSet: this.norm.nonFinite,
        n: numel(s.shape),
        step: t,
        decay: s.decay,
      });
    }
    const [gradNorm] = await gpu.read(this.norm.norm);
    const [flag] = await gpu.readU32(this.norm.nonFinite);
    const skipped = flag !== 0;
    if (!skipped) this.step = t;
    return { gradNorm: gradNorm!, skipped };
  }
}
