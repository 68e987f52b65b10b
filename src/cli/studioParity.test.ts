/**
 * `cli train` and the studio run the same set-up: for the same file and settings they produce the same
 * token ids, labels, dataset fingerprint and first-step loss — the CLI reading the model from a path,
 * the studio from a picked folder of the same files.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainOverrides } from './train';
import { testGpu } from '../engine/testing/testGpu';
import { FIXTURES_DIR, dirSource } from '../model/testing/fixtures';
import { shadowConfig } from '../shadow/config';
import type { TrainEvent } from '../train/events';
import { trainHeadless } from '../train/headless';
import type { StudioEvent } from '../../workers/api';
import { loadDataset } from '../../workers/dataCommands';
import { loadModel } from '../../workers/modelCommands';
import { session } from '../../workers/session';
import { train } from '../../workers/trainCommands';

const MODEL = 'qwen3-tiny';
const text = Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `Mark ${i % 5}:\n`, completion: `<W${i % 7}>#${i}` })).join('\n');
const shadow = shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3, shadow_intermediate_size: 16, dropout: 0.1 });
const common = { lr: 0.01, batch: 3, accumulation: 2, maxLength: 96, validationFraction: 0.25, seed: 11, lambda: 0.05, warmup: 0.1, weightDecay: 0.01, maxGradNorm: 1, epochs: 1, evalEvery: 2 };

describe('cli train and the studio agree', () => {
  it('same token ids, labels, fingerprint and first-step loss for the same file and settings', async () => {
    // The studio: a picked folder, the Data screen's request, the Configure screen's settings.
    const dir = join(FIXTURES_DIR, MODEL);
    await loadModel({ kind: 'files', name: MODEL, files: readdirSync(dir).map((f) => ({ path: `${MODEL}/${f}`, file: new Blob([readFileSync(join(dir, f))]) })) });
    const summary = await loadDataset({ text, fileName: 'words.jsonl', onError: 'skip', maxLength: common.maxLength, validationFraction: common.validationFraction, seed: common.seed });
    const studioData = { train: session.dataset!.train, validation: session.dataset!.validation };
    const studioEvents: StudioEvent[] = [];
    let ended: () => void = () => undefined;
    const done = new Promise<void>((r) => (ended = r));
    session.emit = (e) => {
      studioEvents.push(e);
      if (e.type === 'train-status' && e.status !== 'running') ended();
    };
    await train({
      shadow, shadowLossWeight: common.lambda, learningRate: common.lr, weightDecay: common.weightDecay, warmupRatio: common.warmup, schedule: 'linear', maxGradNorm: common.maxGradNorm,
      microBatchSize: common.batch, gradientAccumulation: common.accumulation, epochs: common.epochs, evalEvery: common.evalEvery, earlyStoppingPatience: 0, checkpointEvery: 0, seed: common.seed,
    });
    await done;
    const studioFirst = studioEvents.find((e) => e.type === 'train-step');

    // The CLI: the same flags parsed by cli train, the same folder read from its path.
    const tmp = mkdtempSync(join(tmpdir(), 'parity-'));
    writeFileSync(join(tmp, 'shadow_config.json'), JSON.stringify(shadow));
    const flags = {
      lr: String(common.lr), batch: String(common.batch), 'grad-accum': String(common.accumulation), 'max-length': String(common.maxLength), 'val-fraction': String(common.validationFraction),
      seed: String(common.seed), lambda: String(common.lambda), 'warmup-ratio': String(common.warmup), 'weight-decay': String(common.weightDecay), 'max-grad-norm': String(common.maxGradNorm),
      epochs: String(common.epochs), 'eval-every': String(common.evalEvery), 'shadow-config': join(tmp, 'shadow_config.json'),
    };
    const cliEvents: TrainEvent[] = [];
    const cli = await trainHeadless({ gpu: await testGpu(), source: dirSource(dir), data: { text, fileName: 'words.jsonl' }, overrides: trainOverrides(flags), onEvent: (e) => cliEvents.push(e) });
    const cliFirst = cliEvents.find((e) => e.type === 'step');

    expect(cli.examples.train.map((e) => e.inputIds)).toEqual(studioData.train.map((e) => e.inputIds));
    expect(cli.examples.train.map((e) => e.labels)).toEqual(studioData.train.map((e) => e.labels));
    expect(cli.examples.validation.map((e) => e.inputIds)).toEqual(studioData.validation.map((e) => e.inputIds));
    expect(cli.datasetFingerprint).toBe(summary.fingerprint);
    expect(studioFirst && studioFirst.type === 'train-step' && Number.isFinite(studioFirst.loss)).toBe(true);
    expect(cliFirst && cliFirst.type === 'step' ? cliFirst.loss : null).toBe(studioFirst && studioFirst.type === 'train-step' ? studioFirst.loss : NaN);
  });
});
