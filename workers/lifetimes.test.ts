/**
 * Every object that allocates GPU memory has one owner that frees it: in one worker session, 30
 * Inspect calls (with and without an adapter, and the logit lens), 10 estimates, 3 short runs and
 * generation leave the bytes the runtime has allocated where they were.
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
import { inspect, lens } from './inspectCommands';
import { loadModel } from './modelCommands';
import { session } from './session';
import { estimate, evaluate, samplesSettled, train } from './trainCommands';

function pickedFolder(name: string) {
  const dir = join(FIXTURES_DIR, name);
  return { kind: 'files' as const, name, files: readdirSync(dir).map((f) => ({ path: `${name}/${f}`, file: new Blob([readFileSync(join(dir, f))]) })) };
}

const settings = {
  shadow: shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3, shadow_intermediate_size: 16, dropout: 0.1 }),
  shadowLossWeight: 0.05, learningRate: 1e-2, weightDecay: 0.01, warmupRatio: 0, schedule: 'linear' as const, maxGradNorm: 1,
  microBatchSize: 3, gradientAccumulation: 2, epochs: 1, evalEvery: 1, earlyStoppingPatience: 0, checkpointEvery: 0, seed: 3,
};

/** Starts a run and waits for its end. */
async function shortRun(seed: number): Promise<void> {
  let ended: () => void = () => undefined;
  const done = new Promise<void>((r) => (ended = r));
  const errors: StudioEvent[] = [];
  session.emit = (e) => {
    if (e.type === 'train-status' && e.status === 'error') errors.push(e);
    if (e.type === 'train-warning') errors.push(e);
    if (e.type === 'train-status' && e.status !== 'running') ended();
  };
  await train({ ...settings, seed });
  await done;
  // the probe and sampler after each evaluation run between the trainer's awaits: let them finish
  await samplesSettled();
  expect(errors).toEqual([]);
}

describe('GPU memory has one owner', () => {
  it('30 inspects, 10 estimates, 3 runs and generation give back every byte they allocate', async () => {
    await loadModel(pickedFolder('qwen3-tiny'));
    const gpu = session.gpu!;
    const lines = Array.from({ length: 14 }, (_, i) => JSON.stringify({ prompt: `Hi ${i % 3}`, completion: ` ok ${i % 3}.` }));
    await loadDataset({ text: lines.join('\n'), fileName: 'd.jsonl', onError: 'skip', maxLength: 32, validationFraction: 0.25, seed: 1 });
    const loaded = gpu.allocatedBytes;
    expect(loaded).toBeGreaterThan(0);

    // Without an adapter, each call makes an identity adapter and frees it.
    for (let i = 0; i < 10; i++) await inspect(`Hi there ${i}`);
    await lens('Hi there', 1, 3);
    for (let i = 0; i < 5; i++) await estimate({ ...settings, microBatchSize: 1 + i });
    expect(gpu.allocatedBytes, 'after inspects and estimates without an adapter').toBe(loaded);

    // A first run leaves its adapter (kept for the Playground), its probe and sampler; that is the new level.
    await shortRun(1);
    await generateText({ prompt: 'Hi 1', chat: false, mode: 'base_shadow', maxNewTokens: 3, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 1 }, 1);
    const withAdapter = gpu.allocatedBytes;
    expect(withAdapter).toBeGreaterThan(loaded);

    for (let i = 0; i < 20; i++) await inspect(`Hi ${i} again`);
    await lens('Hi again', 2, 3);
    for (let i = 0; i < 5; i++) await estimate({ ...settings, microBatchSize: 1 + i });
    await evaluate();
    expect(gpu.allocatedBytes, 'after inspects, estimates and an evaluation with the adapter').toBe(withAdapter);

    // Each new run replaces the adapter: the old one, its optimizer, workspace, probe and steppers go.
    for (const seed of [2, 3, 4]) await shortRun(seed);
    await generateText({ prompt: 'Hi 1', chat: false, mode: 'base_shadow', maxNewTokens: 3, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 1 }, 2);
    expect(gpu.allocatedBytes, 'after three more runs').toBe(withAdapter);
  });
});
