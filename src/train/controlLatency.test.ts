/**
 * Pause and Stop act within one micro-batch, and evaluation is a phase of its own: it reports its
 * progress, scores a few batches by default, can be cancelled without ending the run, and an
 * evaluation interrupted by a pause runs again on resume — with the losses of an uninterrupted run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import type { CausalLM } from '../model/causalLM';
import { loadCausalLM } from '../model/load';
import { fixtureSource } from '../model/testing/fixtures';
import { TrainController } from './controller';
import type { TrainEvent } from './events';
import type { RunConfig } from './runConfig';
import { createRun } from './runSetup';
import { tinyExamples, tinyRunConfig } from './testing/tinyRun';
import type { TrainData } from './trainer';

let gpu: Gpu;
let base: CausalLM;
let data: TrainData;
beforeAll(async () => {
  gpu = await testGpu();
  base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
  const V = base.config.vocabSize;
  data = { train: tinyExamples(16, 1, V), validation: tinyExamples(12, 2, V), padId: 0, fingerprint: 'tiny-control' };
});

/** Runs to the end; `act` sees each event and the controller. Returns the events. */
async function runWith(config: RunConfig, act: (e: TrainEvent, ctl: TrainController, events: TrainEvent[]) => void = () => undefined): Promise<TrainEvent[]> {
  const ctl = new TrainController();
  const events: TrainEvent[] = [];
  const run = await createRun({ base, config, data, controller: ctl, onEvent: (e) => {
    events.push(e);
    act(e, ctl, events);
  } });
  try {
    await run.trainer.run();
  } finally {
    run.release();
    run.model.destroy();
  }
  return events;
}

const losses = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
const evals = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'eval' ? [[e.step, e.valLoss]] : []));

describe('control within one micro-batch', () => {
  // 4 micro-batches of 2 per step: a pause or stop pressed during a step's first micro-batch.
  const config = tinyRunConfig({ microBatchSize: 2, gradientAccumulationSteps: 4, maxSteps: 2, evalEvery: 1, evalBatches: null });

  it('a pause pressed during step 1 waits before its next micro-batch; resuming finishes it with the uninterrupted losses', async () => {
    const straight = await runWith(config);
    const order: string[] = [];
    const ctl = new TrainController();
    const events: TrainEvent[] = [];
    const run = await createRun({ base, config, data, controller: ctl, onEvent: (e) => {
      events.push(e);
      order.push(e.type);
      if (e.type === 'paused') setTimeout(() => ctl.resume(), 10);
    } });
    // The trainer's first micro-batch is in flight once run() has started; pause right away.
    const done = run.trainer.run();
    ctl.pause();
    await done;
    run.release();
    run.model.destroy();
    expect(order[0]).toBe('paused');
    expect((events[0] as Extract<TrainEvent, { type: 'paused' }>).step).toBe(0);
    expect(losses(events)).toEqual(losses(straight));
    expect(evals(events)).toEqual(evals(straight));
  });

  it('stop pressed inside a step ends the run there with nothing of that step applied', async () => {
    const ctl = new TrainController();
    const events: TrainEvent[] = [];
    const run = await createRun({ base, config, data, controller: ctl, onEvent: (e) => events.push(e) });
    const done = run.trainer.run();
    ctl.stop();
    const result = await done;
    run.release();
    run.model.destroy();
    expect(result.reason).toBe('stopped');
    expect(result.progress.step).toBe(0);
    expect(events.filter((e) => e.type === 'step')).toEqual([]);
  });
});

describe('evaluation as a phase', () => {
  it('reports progress batch by batch and scores evalBatches batches by default', async () => {
    const config = tinyRunConfig({ microBatchSize: 2, gradientAccumulationSteps: 1, maxSteps: 1, evalEvery: 1, evalBatches: 3 });
    const events = await runWith(config);
    const progress = events.flatMap((e) => (e.type === 'eval-progress' ? [[e.done, e.total]] : []));
    expect(progress).toEqual([[0, 3], [1, 3], [2, 3], [3, 3]]);
    expect(evals(events)).toHaveLength(1);
  });

  it('a cancelled evaluation records nothing and training goes on', async () => {
    const config = tinyRunConfig({ microBatchSize: 2, gradientAccumulationSteps: 1, maxSteps: 3, evalEvery: 1, evalBatches: null });
    const events = await runWith(config, (e, ctl) => {
      if (e.type === 'eval-progress' && e.step === 2 && e.done === 1) ctl.cancelEvaluation();
    });
    expect(events.filter((e) => e.type === 'step').map((e) => e.step)).toEqual([1, 2, 3]);
    expect(evals(events).map(([s]) => s)).toEqual([1, 3]);
    expect(events.find((e) => e.type === 'eval-cancelled')).toEqual({ type: 'eval-cancelled', step: 2, reason: 'cancelled' });
  });

  it('a pause during an evaluation interrupts it; on resume it runs again and the run matches an uninterrupted one', async () => {
    const config = tinyRunConfig({ microBatchSize: 2, gradientAccumulationSteps: 1, maxSteps: 3, evalEvery: 1, evalBatches: null });
    const straight = await runWith(config);
    let pausedOnce = false;
    const events = await runWith(config, (e, ctl) => {
      if (e.type === 'eval-progress' && e.step === 2 && e.done === 2 && !pausedOnce) {
        pausedOnce = true;
        ctl.pause();
      }
      if (e.type === 'paused') setTimeout(() => ctl.resume(), 10);
    });
    expect(events.find((e) => e.type === 'eval-cancelled')).toEqual({ type: 'eval-cancelled', step: 2, reason: 'paused' });
    expect(evals(events)).toEqual(evals(straight));
    expect(losses(events)).toEqual(losses(straight));
  });
});
