/**
 * A GPU device lost mid-run (issue 12): the run ends with E005 and a hint, its last checkpoint is
 * whole in IndexedDB, the worker acquires a new device on the next command, and after the model and
 * data are loaded again, resuming continues at the next step with the uninterrupted run's losses.
 * The loss is simulated by destroying the device (Dawn reports it as lost, reason 'destroyed').
 */
import 'fake-indexeddb/auto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../src/model/testing/fixtures';
import { shadowConfig } from '../src/shadow/config';
import type { StudioEvent } from './api';
import { loadDataset } from './dataCommands';
import { generateText } from './generateCommands';
import { loadModel } from './modelCommands';
import { getGpu, session } from './session';
import { estimate, listCheckpoints, pause, stop, train } from './trainCommands';

function pickedFolder(name: string) {
  const dir = join(FIXTURES_DIR, name);
  return { kind: 'files' as const, name, files: readdirSync(dir).map((f) => ({ path: `${name}/${f}`, file: new Blob([readFileSync(join(dir, f))]) })) };
}

const model = pickedFolder('qwen3-tiny');
const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Hi ${i % 3}`, completion: ` ok ${i % 3}.` }));
const dataset = { text: lines.join('\n'), fileName: 'd.jsonl', onError: 'skip' as const, maxLength: 32, validationFraction: 0, seed: 1 };
// 12 examples, micro-batch 2, one epoch: 6 steps, a checkpoint after each
const settings = {
  shadow: shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3, shadow_intermediate_size: 16, dropout: 0.1 }),
  shadowLossWeight: 0.05, learningRate: 1e-2, weightDecay: 0.01, warmupRatio: 0, schedule: 'linear' as const, maxGradNorm: 1,
  microBatchSize: 2, gradientAccumulation: 1, epochs: 1, evalEvery: 0, earlyStoppingPatience: 0, checkpointEvery: 1, seed: 7,
};
const TOTAL = 6;

type Step = Extract<StudioEvent, { type: 'train-step' }>;
type Status = Extract<StudioEvent, { type: 'train-status' }>;

/** Records events until `until` says the part of the run a test waits for is over. */
function record(until: (e: StudioEvent, events: StudioEvent[]) => boolean, onEvent: (e: StudioEvent) => void = () => undefined) {
  const events: StudioEvent[] = [];
  let finish: () => void = () => undefined;
  const over = new Promise<void>((r) => (finish = r));
  session.emit = (e) => {
    events.push(e);
    onEvent(e);
    if (until(e, events)) finish();
  };
  return { events, over };
}
const steps = (events: StudioEvent[]) => events.filter((e): e is Step => e.type === 'train-step');
const ended = (e: StudioEvent) => e.type === 'train-status' && (e.status === 'done' || e.status === 'error' || e.status === 'stopped');

describe('a lost GPU device', () => {
  it('ends the run with E005, keeps its last checkpoint, and a new device resumes it at the next step with the same losses', async () => {
    await loadModel(model);
    await loadDataset(dataset);

    // The uninterrupted run: the losses a resumed run must repeat.
    const reference = record(ended);
    await train(settings);
    await reference.over;
    await stop(); // the run has ended: waits for its clean-up
    const want = steps(reference.events).map((e) => e.loss);
    expect(want.length).toBe(TOTAL);

    // The same run, its device destroyed right after the checkpoint of step 2 is written.
    const firstGpu = session.gpu!;
    const LOST_AFTER = 2;
    const lostRun = record(
      (e) => e.type === 'device-lost',
      (e) => {
        if (e.type === 'train-checkpoint' && e.step === LOST_AFTER) firstGpu.device.destroy();
      },
    );
    await train(settings);
    await lostRun.over;
    const events = lostRun.events;
    const status = events.filter((e): e is Status => e.type === 'train-status');
    expect(status.map((e) => e.status)).toEqual(['running', 'error']);
    const failure = status[1]!.error!;
    expect(failure.code).toBe('E005');
    expect(failure.message).toMatch(/^E005 the GPU device was lost \(destroyed/);
    expect(failure.hint).toMatch(/load the model again .* resume from the last checkpoint/);
    // the run's error comes first, then the loss itself, which says the model must be loaded again
    const lost = events.at(-1)!;
    expect(lost).toMatchObject({ type: 'device-lost', error: { code: 'E005', message: expect.stringMatching(/the model must be loaded again$/), hint: expect.stringMatching(/Load model/) } });
    expect(events.indexOf(status[1]!)).toBeLessThan(events.indexOf(lost));
    expect(steps(events).map((e) => e.step)).toEqual([1, 2]);
    expect(events.some((e) => e.type === 'train-warning')).toBe(false);
    expect(session.training).toBe(false);

    // The checkpoint of step 2 survives whole; the model on the lost device is unusable until loaded again.
    const written = events.filter((e): e is Extract<StudioEvent, { type: 'train-checkpoint' }> => e.type === 'train-checkpoint');
    expect(written.map((e) => e.step)).toEqual([1, 2]);
    const runId = written[0]!.id.split('@')[0]!;
    const ofRun = (await listCheckpoints()).filter((c) => c.runId === runId).sort((a, b) => b.step - a.step);
    expect(ofRun[0]).toMatchObject({ id: `${runId}@${LOST_AFTER}`, step: LOST_AFTER });
    await expect(estimate(settings)).rejects.toThrow(/^E005 the GPU device was lost, and the model with it — load the model again/);
    await expect(generateText({ prompt: 'Hi', mode: 'base', chat: false, maxNewTokens: 2, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 }, 1)).rejects.toThrow(/^E005/);
    await expect(train(settings, ofRun[0]!.id)).rejects.toThrow(/^E005/);
    await pause(); // no run: nothing to do

    // A new device: getGpu acquires one, the model and the data load again on it, and the run resumes.
    const secondGpu = await getGpu();
    expect(secondGpu).not.toBe(firstGpu);
    expect(secondGpu.isLost).toBe(false);
    await loadModel(model);
    expect(session.model!.gpu).toBe(secondGpu);
    await loadDataset(dataset);
    const resumed = record(ended);
    await train(settings, ofRun[0]!.id);
    await resumed.over;
    expect(resumed.events.find((e) => e.type === 'train-status' && e.status === 'error')).toBeUndefined();
    const after = steps(resumed.events);
    expect(after[0]!.step).toBe(LOST_AFTER + 1);
    expect(after.map((e) => e.step)).toEqual([3, 4, 5, 6]);
    expect(after.every((e) => Number.isFinite(e.loss))).toBe(true);
    // deterministic from (seed, step): the resumed steps repeat the uninterrupted run's losses
    expect(after.map((e) => e.loss)).toEqual(want.slice(LOST_AFTER));
  });
});
