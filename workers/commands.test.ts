import 'fake-indexeddb/auto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../src/model/testing/fixtures';
import { exportAdapter, importAdapter } from './adapterCommands';
import type { StudioEvent } from './api';
import { loadDataset } from './dataCommands';
import { generateText } from './generateCommands';
import { inspectModel, loadModel } from './modelCommands';
import { session } from './session';
import { estimate, exportCheckpoint, listCheckpoints, pause, samplesSettled, stop, train } from './trainCommands';
import { parseSafetensors } from '../src/model/safetensors/parse';
import { shadowConfig } from '../src/shadow/config';
import { fixtureAdapterFiles } from '../src/shadow/testing/fixtureAdapter';

/** A fixture folder as the files a user would pick. */
function pickedFolder(name: string) {
  const dir = join(FIXTURES_DIR, name);
  return { kind: 'files' as const, name, files: readdirSync(dir).map((f) => ({ path: `${name}/${f}`, file: new Blob([readFileSync(join(dir, f))]) })) };
}

/** Collects the worker's events; `runEnded` settles when a training run ends (done or error). */
function recordEvents(): { events: StudioEvent[]; runEnded: Promise<void> } {
  const events: StudioEvent[] = [];
  let finished: () => void = () => undefined;
  const runEnded = new Promise<void>((r) => (finished = r));
  session.emit = (e) => {
    events.push(e);
    if (e.type === 'train-status' && (e.status === 'done' || e.status === 'error')) finished();
  };
  return { events, runEnded };
}

/** The worker's commands as plain functions, in Node: a picked folder, a dataset, a short run. */
describe('worker commands', () => {
  it('load a model from picked files, a dataset, train with checkpoints, generate in three modes, export and import', async () => {
    const { events, runEnded } = recordEvents();
    const spec = pickedFolder('qwen3-tiny');
    const info = await inspectModel(spec);
    expect(info.modelType).toBe('qwen3');
    expect(info.downloadBytes).toBeGreaterThan(0);
    const loaded = await loadModel(spec);
    expect(loaded.storage).toBe('f32');
    expect(events.some((e) => e.type === 'load-progress' && e.phase === 'upload')).toBe(true);

    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Hi ${i % 3}`, completion: ` ok ${i % 3}.` }));
    const summary = await loadDataset({ text: `${lines.join('\n')}\n{broken`, fileName: 'd.jsonl', onError: 'skip', maxLength: 32, validationFraction: 0.25, seed: 1 });
    expect(summary.format).toBe('prompt_completion');
    expect(summary.issues[0]!.line).toBe(13);
    expect(summary.trainExamples + summary.validationExamples).toBe(12);

    const settings = {
      shadow: shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3, shadow_intermediate_size: 16, dropout: 0.1 }),
      shadowLossWeight: 0.05, learningRate: 1e-2, weightDecay: 0.01, warmupRatio: 0, schedule: 'linear' as const, maxGradNorm: 1,
      microBatchSize: 3, gradientAccumulation: 1, epochs: 2, evalEvery: 2, earlyStoppingPatience: 0, checkpointEvery: 2, seed: 3,
    };
    await train(settings);
    await runEnded;
    expect(events.find((e) => e.type === 'train-status' && e.status === 'error')).toBeUndefined();
    await stop(); // the run has ended: a no-op
    const steps = events.filter((e) => e.type === 'train-step');
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((e) => e.type === 'train-step' && Number.isFinite(e.loss))).toBe(true);
    expect(events.some((e) => e.type === 'train-eval')).toBe(true);
    await samplesSettled(); // the sample after the last evaluation
    expect(events.some((e) => e.type === 'sample' && typeof e.text === 'string')).toBe(true);
    const snapshot = events.find((e) => e.type === 'inspect-snapshot');
    expect(snapshot && snapshot.type === 'inspect-snapshot' && snapshot.states.stats.hNorm.every(Number.isFinite)).toBe(true);
    await pause(); // no run: a no-op
    const checkpoints = await listCheckpoints();
    expect(checkpoints.length).toBeGreaterThan(0);

    for (const mode of ['base', 'base_shadow', 'shadow_only'] as const) {
      const r = await generateText({ prompt: 'Hi 1', mode, chat: true, maxNewTokens: 4, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 }, 1);
      expect(r.tokens.length).toBeLessThanOrEqual(4);
      expect(r.mode).toBe(mode);
    }
    const exported = await exportAdapter('F32');
    // The newest checkpoint, exported straight from IndexedDB, holds the same adapter as the GPU.
    const newest = [...checkpoints].sort((x, y) => y.step - x.step)[0]!;
    expect(newest.step).toBe(steps.length);
    const fromCheckpoint = await exportCheckpoint(newest.id, 'F32');
    expect(fromCheckpoint.configJson).toBe(exported.configJson);
    const tensorsOf = (b: ArrayBuffer) => [...parseSafetensors(new Uint8Array(b)).tensors].map(([k, t]) => [k, Array.from(t.data)]);
    expect(tensorsOf(fromCheckpoint.safetensors)).toEqual(tensorsOf(exported.safetensors));
    expect(parseSafetensors(new Uint8Array(fromCheckpoint.safetensors)).metadata).toMatchObject({ base_model: 'local folder qwen3-tiny', checkpoint: newest.id, optimizer_steps: String(newest.step) });
    const imported = await importAdapter(exported);
    expect(imported.baseModel).toBe('local folder qwen3-tiny');
    expect(imported.shadow.injection_hidden_size).toBe(4);
  });
});

describe('an explicit shadow model (docs/shadowpeft.md §6) through the worker', () => {
  it('estimates, trains from the pretrained weights, exports an adapter that records it, and imports it back', async () => {
    const { events, runEnded } = recordEvents();
    await loadModel(pickedFolder('qwen3-tiny'));
    const lines = Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `tiny text ${i}` }));
    await loadDataset({ text: lines.join('\n'), fileName: 'd.jsonl', onError: 'stop', maxLength: 16, validationFraction: 0, seed: 1 });
    const settings = {
      shadow: shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3, dropout: 0.2 }),
      explicitShadow: { source: pickedFolder('explicit-llama-w36'), ownEmbeddings: true },
      shadowLossWeight: 0.05, learningRate: 1e-2, weightDecay: 0.01, warmupRatio: 0, schedule: 'linear' as const, maxGradNorm: 1,
      microBatchSize: 4, gradientAccumulation: 1, epochs: 1, evalEvery: 0, earlyStoppingPatience: 0, checkpointEvery: 1, seed: 3,
    };
    // The fixture shadow-qwen3-tiny-explicit has the same shapes: 20,004 trainable parameters.
    const est = await estimate(settings);
    expect(est.trainableParameters).toBe(20004);
    expect(est.checkpointBytes).toBe(20004 * 4 * 3); // parameters, m and v, all f32
    const frozen = await estimate({ ...settings, explicitShadow: { ...settings.explicitShadow, freezeEmbeddings: true } });
    expect(frozen.trainableParameters).toBe(20004 - 96 * 36);
    expect(frozen.checkpointBytes).toBe((20004 - 96 * 36) * 12 + 96 * 36 * 4);
    await train(settings);
    await runEnded;
    expect(events.find((e) => e.type === 'train-status' && e.status === 'error')).toBeUndefined();
    expect(events.filter((e) => e.type === 'train-step').length).toBe(2);
    expect(events.find((e) => e.type === 'shadow-load-progress')).toMatchObject({ file: 'model.safetensors' });
    const exported = await exportAdapter('F32');
    const imported = await importAdapter(exported);
    expect(session.shadow!.explicit!.id).toBe('local folder explicit-llama-w36');
    expect(session.shadow!.resolved.projection).toBe(true);
    expect(imported.baseModel).toBe('local folder qwen3-tiny');
    const shared = { ...settings, explicitShadow: { ...settings.explicitShadow, ownEmbeddings: false } };
    await expect(estimate(shared)).rejects.toThrow(/E217 the explicit shadow is 36 wide/);

    // A checkpoint of the run rebuilds the explicit shadow from its own record (the settings may differ now).
    const ck = (await listCheckpoints()).filter((c) => c.step === 1);
    expect(ck.length).toBe(1);
    await train({ ...settings, explicitShadow: null, epochs: 2 }, ck[0]!.id);
    expect(session.shadow!.explicit!.id).toBe('local folder explicit-llama-w36');
    await stop();

    // An explicit adapter as the Python package writes it (no record of its model): refused with a way
    // out, then imported with the shadow model chosen on the Configure screen.
    const python = fixtureAdapterFiles('shadow-qwen3-tiny-explicit');
    const payload = { configJson: python.configJson, safetensors: python.safetensors.slice().buffer };
    await expect(importAdapter(payload)).rejects.toThrow(/E217 this adapter belongs to an explicit shadow model/);
    await expect(importAdapter(payload)).rejects.toMatchObject({ hint: expect.stringMatching(/Configure screen/) });
    await expect(importAdapter(payload, { source: pickedFolder('explicit-qwen2-w40'), ownEmbeddings: false })).rejects.toThrow(/^E21\d with the shadow model chosen on the Configure screen \(local folder explicit-qwen2-w40\): adapter /);
    const attached = await importAdapter(payload, { ...settings.explicitShadow, ownEmbeddings: false }); // the file's table decides: own
    expect(attached.explicitShadow).toEqual({ id: 'local folder explicit-llama-w36', embeddings: 'own' });
    expect(session.shadow!.resolved.backbone.C).toBe(36);
  });
});

describe('cancelling a model load', () => {
  it('stops at the next progress report with E509, and a new load works', async () => {
    const { cancelLoad } = await import('./modelCommands');
    const spec = pickedFolder('llama-tiny');
    session.emit = () => undefined;
    const loading = loadModel(spec);
    cancelLoad();
    await expect(loading).rejects.toThrow(/E509 loading was cancelled/);
    expect((await loadModel(spec)).modelType).toBe('llama');
  });
});
