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
import { restoreCheckpoint } from './checkpointState';
import { TrainController } from './controller';
import type { EvalEvent, StepEvent, TrainEvent } from './events';
import type { RunConfig } from './runConfig';
import { tinyExamples, tinyRunConfig } from './testing/tinyRun';
import type { TrainData } from './trainer';
import { Trainer } from './trainer';

let gpu: Gpu;
let base: CausalLM;
let data: TrainData;
beforeAll(async () => {
  gpu = await testGpu();
  base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
  const V = base.config.vocabSize;
  data = { train: tinyExamples(10, 1, V), validation: tinyExamples(3, 2, V), padId: 0, fingerprint: 'tiny-1' };
});

async function fresh(config: RunConfig, initSeed = config.seed) {
  const model = await ShadowPeftModel.create(base, config.shadow, initSeed);
  const optimizer = await ShadowOptimizer.create(model);
  return { model, optimizer };
}

async function paramsOf(model: ShadowPeftModel): Promise<number[]> {
  const out: number[] = [];
  for (const s of model.specs) out.push(...(await gpu.read(model.params.byName.get(s.name)!)));
  return out;
}

const only = <T extends TrainEvent['type']>(events: TrainEvent[], type: T) => events.filter((e): e is Extract<TrainEvent, { type: T }> => e.type === type);

describe('trainer', () => {
  it('exact resume: 4 steps + checkpoint + fresh objects + 4 steps = 8 uninterrupted steps, bit for bit', async () => {
    // Dropout on, 2 micro-batches of 2 per step, 10 examples: 3 steps per epoch, so the 8 steps cross
    // two epoch ends and the checkpoint (step 4) sits inside the second epoch.
    const config = tinyRunConfig({ maxSteps: 8, evalEvery: 2, checkpointEvery: 4 });
    const straightEvents: TrainEvent[] = [];
    const a = await fresh(config);
    const straight = await (await Trainer.create({ ...a, config, data, onEvent: (e) => straightEvents.push(e) })).run();
    expect(straight.reason).toBe('completed');
    const stepsA = only(straightEvents, 'step');
    expect(stepsA.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(stepsA.every((e) => Number.isFinite(e.loss) && e.loss > 0)).toBe(true);

    const store = await CheckpointStore.open({ dbName: 'resume-test' });
    const ctl = new TrainController();
    const firstEvents: TrainEvent[] = [];
    const b = await fresh(config);
    const first = await Trainer.create({ ...b, config, data, controller: ctl, checkpoints: { store, runId: 'run-b' }, onEvent: (e) => {
      firstEvents.push(e);
      if (e.type === 'checkpoint') ctl.stop();
    } });
    expect((await first.run()).reason).toBe('stopped');
    expect(only(firstEvents, 'checkpoint')).toEqual([{ type: 'checkpoint', step: 4, id: 'run-b@4' }]);

    // Everything from here on is rebuilt from the stored checkpoint only (a different init seed proves
    // that restoring overwrites every parameter).
    const [manifest] = await store.listCheckpoints('run-b');
    const ck = await store.loadCheckpoint(manifest!.id);
    const c = await fresh(ck.manifest.config, 999);
    restoreCheckpoint(ck, c.model, c.optimizer, { baseModelId: 'qwen3-tiny', datasetFingerprint: 'tiny-1' });
    expect(c.optimizer.step).toBe(4);
    const secondEvents: TrainEvent[] = [];
    const second = await Trainer.create({ ...c, config: ck.manifest.config, data, resume: ck.manifest.progress, onEvent: (e) => secondEvents.push(e) });
    expect((await second.run()).reason).toBe('completed');

    const losses = (events: StepEvent[]) => events.map((e) => [e.step, e.loss, e.baseLoss, e.shadowLoss, e.lr, e.gradNorm, e.epoch]);
    expect([...losses(only(firstEvents, 'step')), ...losses(only(secondEvents, 'step'))]).toEqual(losses(stepsA));
    const evals = (events: EvalEvent[]) => events.map((e) => [e.step, e.valLoss, e.shadowValLoss]);
    expect([...evals(only(firstEvents, 'eval')), ...evals(only(secondEvents, 'eval'))]).toEqual(evals(only(straightEvents, 'eval')));
    expect(await paramsOf(c.model)).toEqual(await paramsOf(a.model));
    // The history travels with the checkpoint: the resumed run's history is the whole run's.
    expect(second.progress.history).toEqual(straight.progress.history);
    store.close();
  });

  it('pause and resume between steps; a checkpoint can be taken while paused; stop ends the run', async () => {
    const config = tinyRunConfig({ maxSteps: 4, dropout: false });
    const store = await CheckpointStore.open({ dbName: 'pause-test' });
    const ctl = new TrainController();
    const events: TrainEvent[] = [];
    const { model, optimizer } = await fresh(config);
    let trainer: Trainer | null = null;
    const onEvent = (e: TrainEvent) => {
      events.push(e);
      if (e.type === 'step' && e.step === 2) ctl.pause();
      if (e.type === 'step' && e.step === 3) ctl.stop();
      if (e.type === 'paused') {
        void trainer!.saveCheckpoint().then(() => ctl.resume());
      }
    };
    trainer = await Trainer.create({ model, optimizer, config, data, controller: ctl, checkpoints: { store, runId: 'p' }, onEvent });
    const result = await trainer.run();
    expect(events.map((e) => e.type)).toEqual(['step', 'step', 'paused', 'checkpoint', 'step', 'done']);
    expect(events[2]).toEqual({ type: 'paused', step: 2, reason: 'user' });
    expect(result.reason).toBe('stopped');
    expect(result.progress.step).toBe(3);
    expect((await store.listCheckpoints('p')).map((m) => m.step)).toEqual([2]);
    store.close();
  });

  it('early stopping: validation loss that never improves ends the run after `patience` evaluations', async () => {
    // lr 1e-30 moves no f32 weight that the validation loss can see, so every evaluation repeats
    // the first loss exactly: no improvement, deterministically.
    const config = tinyRunConfig({ maxSteps: 10, learningRate: 1e-30, weightDecay: 0, evalEvery: 1, earlyStoppingPatience: 2, dropout: false });
    const events: TrainEvent[] = [];
    const { model, optimizer } = await fresh(config);
    const result = await (await Trainer.create({ model, optimizer, config, data, onEvent: (e) => events.push(e) })).run();
    const evals = only(events, 'eval');
    expect(evals.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(new Set(evals.map((e) => e.valLoss)).size).toBe(1);
    expect(evals[0]!.perplexity).toBeCloseTo(Math.exp(evals[0]!.valLoss), 10);
    expect(result.reason).toBe('early-stopped');
    expect(events.at(-1)).toEqual({ type: 'done', reason: 'early-stopped', step: 3, bestValLoss: evals[0]!.valLoss, bestStep: 1 });
  });

  it('runs every epoch when maxSteps is null, with one final evaluation at the end', async () => {
    const config = tinyRunConfig({ epochs: 2, evalEvery: 4, dropout: false });
    const events: TrainEvent[] = [];
    const { model, optimizer } = await fresh(config);
    const trainer = await Trainer.create({ model, optimizer, config, data, onEvent: (e) => events.push(e) });
    expect(trainer.schedule.totalSteps).toBe(6); // 10 examples / 2 = 5 micro-batches → 3 steps per epoch
    const result = await trainer.run();
    expect(result.reason).toBe('completed');
    expect(only(events, 'step').map((e) => e.epoch)).toEqual([0.4, 0.8, 1, 1.4, 1.8, 2]);
    expect(only(events, 'eval').map((e) => e.step)).toEqual([4, 6]);
    const last = only(events, 'step').at(-1)!;
    expect(last.lr).toBeGreaterThan(0); // the 6th update uses lr(5) > 0; lr reaches 0 only after it
    expect(last.etaMs).toBe(0);
    expect(last.tokensPerSecond).toBeGreaterThan(0);
  });

  it('create refuses an empty training set, a model of another shadow config, and progress the optimizer is not at', async () => {
    const config = tinyRunConfig({ maxSteps: 2 });
    const { model, optimizer } = await fresh(config);
    await expect(Trainer.create({ model, optimizer, config, data: { ...data, train: [] } })).rejects.toThrow(/^E302/);
    await expect(Trainer.create({ model, optimizer, config: tinyRunConfig({ shadow: { ...config.shadow, alpha: 0.5 } }), data })).rejects.toThrow(/^E308 the run configuration’s shadow config differs/);
    await expect(Trainer.create({ model, optimizer, config, data, resume: { ...(await Trainer.create({ model, optimizer, config, data })).progress, step: 4 } })).rejects.toThrow(/^E308 the progress is at step 4 but the optimizer at step 0/);
  });
});
