import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import type { CausalLM } from '../model/causalLM';
import { loadCausalLM } from '../model/load';
import { fixtureSource } from '../model/testing/fixtures';
import { ShadowOptimizer } from '../shadow/optimizer';
import { ShadowPeftModel } from '../shadow/shadowModel';
import { CheckpointStore } from './checkpoints';
import { captureCheckpoint } from './checkpointState';
import { TrainController } from './controller';
import type { TrainEvent } from './events';
import { initialProgress } from './progress';
import { learningRate } from './schedule';
import { tinyExamples, tinyRunConfig } from './testing/tinyRun';
import type { TrainData } from './trainer';
import { NON_FINITE_PAUSE_AFTER, Trainer } from './trainer';

let gpu: Gpu;
let base: CausalLM;
let data: TrainData;
beforeAll(async () => {
  gpu = await testGpu();
  base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
  data = { train: tinyExamples(8, 3, base.config.vocabSize), validation: [], padId: 0, fingerprint: 'guard' };
});

async function paramsOf(model: ShadowPeftModel): Promise<number[]> {
  const out: number[] = [];
  for (const s of model.specs) out.push(...(await gpu.read(model.params.byName.get(s.name)!)));
  return out;
}

/** Writes NaN into one element of a GPU tensor of the adapter (a gradient or a parameter). */
function poison(model: ShadowPeftModel, which: 'grads' | 'params', name: string): void {
  const t = model[which].byName.get(name)!;
  gpu.write(t, new Float32Array([NaN]), 3);
}

describe('non-finite guard', () => {
  it('skipped steps change nothing and do not advance the schedule; 3 in a row pause the run', async () => {
    const config = tinyRunConfig({ maxSteps: 5, gradientAccumulationSteps: 1, warmupRatio: 0.6, dropout: false, validationFraction: 0 });
    const model = await ShadowPeftModel.create(base, config.shadow, 5);
    const optimizer = await ShadowOptimizer.create(model);
    const ctl = new TrainController();
    const events: TrainEvent[] = [];
    let calls = 0;
    let before: number[] = [];
    let afterSkips: number[] = [];
    const trainer = await Trainer.create({
      model,
      optimizer,
      config,
      data,
      controller: ctl,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'paused') ctl.resume();
      },
      // Between backward and the optimizer: NaN in one gradient element on the 2nd, 3rd and 4th attempt.
      beforeOptimizerStep: async () => {
        calls++;
        if (calls === 2) before = await paramsOf(model);
        if (calls === 5) afterSkips = await paramsOf(model);
        if (calls >= 2 && calls <= 4) poison(model, 'grads', 'shadow_model.norm.weight');
      },
    });
    const result = await trainer.run();
    expect(NON_FINITE_PAUSE_AFTER).toBe(3);
    expect(events.map((e) => e.type)).toEqual(['step', 'skipped', 'skipped', 'skipped', 'paused', 'step', 'step', 'step', 'step', 'done']);
    const skipped = events.filter((e) => e.type === 'skipped');
    expect(skipped.map((e) => [e.step, e.consecutive])).toEqual([[2, 1], [2, 2], [2, 3]]);
    expect(skipped[0]!.reason).toMatch(/non-finite gradient/);
    expect(events[4]).toEqual({ type: 'paused', step: 1, reason: 'non-finite' });
    expect(afterSkips).toEqual(before); // parameters (and so the adapter) untouched by the skips
    // Warm-up 0.6 of 5 steps = 3 steps: the lr climbs 0, 1/3, 2/3, 1 … whatever was skipped in between.
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5]);
    expect(steps.map((e) => e.lr)).toEqual([0, 1, 2, 3, 4].map((k) => learningRate(trainer.schedule, k)));
    expect(steps[1]!.lr).toBeCloseTo(config.learningRate / 3, 15);
    expect(optimizer.step).toBe(5);
    expect(result.progress.skippedSteps).toBe(3);
    expect(result.progress.consecutiveSkips).toBe(0);
  });

  it('a non-finite adapter is never saved: periodic checkpoints report E304, saving refuses it', async () => {
    const store = await CheckpointStore.open({ dbName: 'guard-test' });
    const config = tinyRunConfig({ maxSteps: 2, gradientAccumulationSteps: 1, dropout: false, validationFraction: 0, checkpointEvery: 1 });
    const model = await ShadowPeftModel.create(base, config.shadow, 6);
    const optimizer = await ShadowOptimizer.create(model);
    const events: TrainEvent[] = [];
    // The last update slot's weights are never read and get no gradient (docs/shadowpeft.md §3): a NaN
    // written there passes the gradient guard, so only the checkpoint's own check can catch it.
    const unread = `shadow_update_model.update_gates.${model.resolved.slots - 1}.0.weight`;
    const trainer = await Trainer.create({
      model,
      optimizer,
      config,
      data,
      checkpoints: { store, runId: 'g' },
      onEvent: (e) => events.push(e),
      beforeOptimizerStep: (step) => {
        if (step === 2) poison(model, 'params', unread);
      },
    });
    await trainer.run();
    expect(events.map((e) => e.type)).toEqual(['step', 'checkpoint', 'step', 'checkpoint-error', 'done']);
    const err = events[3] as Extract<TrainEvent, { type: 'checkpoint-error' }>;
    expect(err.code).toBe('E304');
    expect(err.message).toContain(`'${unread}' holds NaN`);
    await expect(trainer.saveCheckpoint()).rejects.toThrow(/^E304 adapter tensor/);
    await expect(captureCheckpoint(model, optimizer, { runId: 'g', config, datasetFingerprint: 'guard', schedule: trainer.schedule, progress: initialProgress() })).rejects.toThrow(/E304/);
    // Only the good step-1 checkpoint exists, and it is finite.
    const list = await store.listCheckpoints('g');
    expect(list.map((m) => m.step)).toEqual([1]);
    const ck = await store.loadCheckpoint(list[0]!.id);
    expect(Object.values(ck.tensors.params).every((b) => new Float32Array(b).every(Number.isFinite))).toBe(true);
    store.close();
  });
});
