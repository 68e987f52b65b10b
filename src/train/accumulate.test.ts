import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { expectClose } from '../engine/testing/expectClose';
import { testGpu } from '../engine/testing/testGpu';
import type { CausalLM } from '../model/causalLM';
import { loadCausalLM } from '../model/load';
import { fixtureSource } from '../model/testing/fixtures';
import { ShadowOptimizer } from '../shadow/optimizer';
import { ShadowPeftModel } from '../shadow/shadowModel';
import { accumulateGradients, microBatchWeights } from './accumulate';
import type { TokenizedExample } from './data/types';
import type { TrainEvent } from './events';
import { prepareBatch } from './prepareBatch';
import { TINY_SHADOW, tinyExamples, tinyRunConfig } from './testing/tinyRun';
import { Trainer } from './trainer';

let gpu: Gpu;
let base: CausalLM;
let four: TokenizedExample[];
beforeAll(async () => {
  gpu = await testGpu();
  base = await loadCausalLM(gpu, fixtureSource('llama-tiny'));
  four = tinyExamples(4, 5, base.config.vocabSize, 11);
});

async function grads(model: ShadowPeftModel): Promise<number[]> {
  const out: number[] = [];
  for (const s of model.specs) out.push(...(await gpu.read(model.grads.byName.get(s.name)!)));
  return out;
}

const LAMBDA = 0.05;
const HYPER = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

describe('gradient accumulation', () => {
  it('weights are each micro-batch’s share of the supervised tokens', () => {
    expect(microBatchWeights([3, 1])).toEqual([0.75, 0.25]);
    expect(microBatchWeights([0, 5, 5])).toEqual([0, 0.5, 0.5]);
    expect(microBatchWeights([0, 0])).toEqual([0, 0]);
  });

  it('2 micro-batches accumulate to the gradient and loss of one batch of both; so does the loss after a step', async () => {
    const V = base.config.vocabSize;
    const full = prepareBatch(four, 0, V);
    const micro = [prepareBatch(four.slice(0, 2), 0, V), prepareBatch(four.slice(2), 0, V)];
    // The test only discriminates if the halves differ in supervised tokens (equal weights would then be wrong).
    expect(micro[0]!.supervised).not.toBe(micro[1]!.supervised);

    const one = await ShadowPeftModel.create(base, { ...TINY_SHADOW, dropout: 0 }, 21);
    const wsFull = await one.createWorkspace(full.batch.B, full.batch.T);
    one.zeroGrads();
    const lFull = (await one.forwardBackward(wsFull, full.batch, full.labels, LAMBDA, null, { readLosses: true }))!;

    const acc = await ShadowPeftModel.create(base, { ...TINY_SHADOW, dropout: 0 }, 21);
    const wsMicro = await acc.createWorkspace(2, full.batch.T);
    const lAcc = (await accumulateGradients(acc, wsMicro, micro, LAMBDA, () => null))!;
    expect(lAcc.supervised).toBe(lFull.supervised);
    // f32 sums in another order: the losses agree to ~1e-7, far inside 1e-5.
    expect(Math.abs(lAcc.loss - lFull.loss)).toBeLessThan(1e-5);
    expect(Math.abs(lAcc.baseLoss - lFull.baseLoss)).toBeLessThan(1e-5);
    expect(Math.abs(lAcc.shadowLoss - lFull.shadowLoss)).toBeLessThan(1e-5);
    // Gradients: the same sums regrouped by micro-batch, plus one rescale each: rounding-level error.
    expectClose(await grads(acc), await grads(one), { atol: 1e-6, rtol: 1e-4 }, 'accumulated gradients');

    // Equal weights 1/2 would give a visibly different loss on these halves.
    const halves = [];
    for (const m of micro) {
      acc.zeroGrads();
      halves.push((await acc.forwardBackward(wsMicro, m.batch, m.labels, LAMBDA, null, { readLosses: true }))!.loss);
    }
    expect(Math.abs((halves[0]! + halves[1]!) / 2 - lFull.loss)).toBeGreaterThan(1e-3);

    // One AdamW step from each gradient, then the loss of the full batch again.
    await accumulateGradients(acc, wsMicro, micro, LAMBDA, () => null);
    const optOne = await ShadowOptimizer.create(one);
    const optAcc = await ShadowOptimizer.create(acc);
    await optOne.apply(HYPER, 1.0);
    await optAcc.apply(HYPER, 1.0);
    one.zeroGrads();
    acc.zeroGrads();
    const afterOne = (await one.forwardBackward(wsFull, full.batch, full.labels, LAMBDA, null, { readLosses: true }))!.loss;
    const afterAcc = (await acc.forwardBackward(wsFull, full.batch, full.labels, LAMBDA, null, { readLosses: true }))!.loss;
    expect(afterOne).not.toBe(lFull.loss);
    expect(Math.abs(afterAcc - afterOne)).toBeLessThan(1e-5);
  });

  it('the trainer with micro-batch 2 × 2 steps reports the losses of micro-batch 4 × 1', async () => {
    const data = { train: four, validation: [], padId: 0, fingerprint: 'four' };
    const losses = async (microBatchSize: number, gradientAccumulationSteps: number) => {
      const config = tinyRunConfig({ microBatchSize, gradientAccumulationSteps, maxSteps: 3, dropout: false, warmupRatio: 0, validationFraction: 0 });
      const model = await ShadowPeftModel.create(base, config.shadow, 3);
      const optimizer = await ShadowOptimizer.create(model);
      const events: TrainEvent[] = [];
      await (await Trainer.create({ model, optimizer, config, data, onEvent: (e) => events.push(e) })).run();
      return events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
    };
    const big = await losses(4, 1);
    const accumulated = await losses(2, 2);
    expect(big.length).toBe(3);
    // three steps of drift between two f32 summation orders: well under 1e-5
    expectClose(accumulated, big, { atol: 1e-5, rtol: 0 }, 'step losses');
  });
});
