/**
 * Every path a user takes trains: each preset × each demo dataset (and the short-row dataset of the
 * micro-batch 8 report) × micro-batch {1, 3, 8, 16} × max length {short, the preset's} (presets of the
 * same shapes share one grid, see shapeKey), then 16 seeded
 * random (B, T, accumulation, validation fraction) draws — each 2 optimizer steps and an evaluation
 * through the run set-up the worker and the CLI share (createRun), with finite losses, and every GPU
 * byte the run allocated given back when it is released.
 *
 * The model is a narrow random Llama with the bundled model's real tokenizer and chat template, so the
 * demo datasets tokenize to the lengths users see: the shapes (B·T rows crossing the kernels' plan
 * thresholds, short last batches, evaluation batches) are the bundled model's, at a fraction of the cost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../engine/testing/random';
import { testGpu } from '../engine/testing/testGpu';
import type { CausalLM } from '../model/causalLM';
import { loadCausalLM } from '../model/load';
import { narrowBundledModel } from '../model/testing/narrowModel';
import { loadTokenizer, tokenizerFingerprint } from '../model/tokenizer';
import { SHADOW_PRESETS } from '../shadow/presets';
import type { DataTokenizer } from './data/tokenize';
import type { TrainEvent } from './events';
import { runConfigFromPreset } from './runConfig';
import type { RunConfig } from './runConfig';
import type { PreparedDataset } from './runSetup';
import { createRun, prepareDataset, resolvePadId } from './runSetup';

const ROOT = join(import.meta.dirname ?? '.', '../..');
/** The first lines of each file: enough rows for several batches of 16 and a validation split. */
const DATASETS: { file: string; path: string; lines: number }[] = [
  { file: 'kjv-modern-english.jsonl', path: 'public/datasets/kjv-modern-english.jsonl', lines: 40 },
  { file: 'kjv-testament.jsonl', path: 'public/datasets/kjv-testament.jsonl', lines: 40 },
  { file: 'fortunes-quotes.txt', path: 'public/datasets/fortunes-quotes.txt', lines: 120 },
  { file: 'tagged-words.jsonl', path: 'src/train/testing/data/tagged-words.jsonl', lines: 40 },
];
const MICRO_BATCHES = [1, 3, 8, 16];
/** Per dataset, the median tokenized row length: a max length that cuts half the rows and keeps them trainable. */
const shortLength = new Map<string, number>();

let gpu: Awaited<ReturnType<typeof testGpu>>;
let base: CausalLM;
let tokenizer: DataTokenizer;
const texts = new Map<string, string>();

beforeAll(async () => {
  gpu = await testGpu();
  const source = narrowBundledModel();
  base = await loadCausalLM(gpu, source);
  tokenizer = (await loadTokenizer(source)) as unknown as DataTokenizer;
  for (const d of DATASETS) {
    texts.set(d.file, readFileSync(join(ROOT, d.path), 'utf8').split('\n').slice(0, d.lines).join('\n'));
    const full = prepareDataset(texts.get(d.file)!, { fileName: d.file, onError: 'skip', maxLength: 4096, validationFraction: 0, seed: 1, tokenizerFingerprint: tokenizerFingerprint(tokenizer) }, tokenizer);
    const lengths = full.examples.map((e) => e.inputIds.length).sort((a, b) => a - b);
    // Plain text is packed into blocks of max length, so its "rows" are as long as the limit allows.
    shortLength.set(d.file, full.format === 'plain_text' ? 32 : Math.max(8, lengths[Math.floor(lengths.length / 2)]!));
  }
});

function dataset(file: string, config: RunConfig): PreparedDataset {
  return prepareDataset(texts.get(file)!, { fileName: file, onError: 'skip', maxLength: config.maxLength, validationFraction: config.validationFraction, seed: config.seed, tokenizerFingerprint: tokenizerFingerprint(tokenizer) }, tokenizer);
}

/** Two optimizer steps and an evaluation; returns the losses seen. Asserts the run gives back its memory. */
async function twoStepsAndAnEvaluation(config: RunConfig, data: PreparedDataset, label: string): Promise<{ losses: number[]; valLoss: number | null }> {
  const before = gpu.allocatedBytes;
  const events: TrainEvent[] = [];
  const run = await createRun({
    base,
    config,
    data: { train: data.train, validation: data.validation, padId: resolvePadId(tokenizer, base.config.vocabSize), fingerprint: data.fingerprint },
    onEvent: (e) => events.push(e),
  });
  try {
    const result = await run.trainer.run();
    expect(result.reason, label).toBe('completed');
  } finally {
    run.release();
    run.model.destroy();
  }
  expect(gpu.allocatedBytes, `${label}: bytes still allocated after the run was released`).toBe(before);
  const losses = events.flatMap((e) => (e.type === 'step' ? [e.loss, e.baseLoss, e.shadowLoss] : []));
  const evals = events.flatMap((e) => (e.type === 'eval' ? [e.valLoss] : []));
  expect(events.filter((e) => e.type === 'step').length, `${label}: optimizer steps`).toBe(2);
  for (const l of losses) expect(Number.isFinite(l), `${label}: loss ${l}`).toBe(true);
  if (data.validation.length > 0) {
    expect(evals.length, `${label}: evaluations`).toBeGreaterThanOrEqual(1);
    for (const l of evals) expect(Number.isFinite(l), `${label}: validation loss ${l}`).toBe(true);
  }
  return { losses, valLoss: evals.at(-1) ?? null };
}

/**
 * A preset's run, cut to 2 steps with an evaluation of one batch after the second. Accumulation 1:
 * it does not change a shape (the random draws below cover it), and it halves the cost.
 */
function presetRun(presetIndex: number, microBatchSize: number, maxLength: number): RunConfig {
  const preset = SHADOW_PRESETS[presetIndex]!;
  const c = runConfigFromPreset(preset, { id: 'narrow-kjv-llama', revision: null });
  return { ...c, microBatchSize, gradientAccumulationSteps: 1, maxLength, maxSteps: 2, evalEvery: 2, evalBatches: 1, checkpointEvery: null, validationFraction: 0.1 };
}

/**
 * What decides the shapes a run allocates and dispatches: the shadow's configuration and the max
 * length (learning rate, epochs and schedule do not). Presets that agree on both share one grid; the
 * others of the group each train once more on their own.
 */
function shapeKey(p: (typeof SHADOW_PRESETS)[number]): string {
  return JSON.stringify([p.shadow, p.training.maxLength]);
}
const groups = new Map<string, number[]>();
/**
 * The 4B+ presets' own length (512) is the ~135M group's too, and they differ from it only in the
 * shadow's attention, which their short-length grid runs at every micro-batch: at 512 they run at
 * micro-batch 3 only (at 512 tokens × 16 shadow heads, software attention costs minutes per grid).
 */
const FULL_GRID_AT_OWN_LENGTH = new Set(['tiny', 'small', 'medium']);
SHADOW_PRESETS.forEach((p, i) => groups.set(shapeKey(p), [...(groups.get(shapeKey(p)) ?? []), i]));

describe('every preset × demo dataset × micro-batch × max length trains 2 steps and evaluates', () => {
  for (const [first, ...sameShapes] of groups.values()) {
    const preset = SHADOW_PRESETS[first!]!;
    for (const d of DATASETS) {
      it(`preset ${preset.id}, ${d.file}`, async () => {
        for (const maxLength of [shortLength.get(d.file)!, preset.training.maxLength]) {
          // The dataset depends on max length only (not on the micro-batch): prepare it once per length.
          const data = dataset(d.file, presetRun(first!, 1, maxLength));
          const long = maxLength === preset.training.maxLength;
          for (const B of long && !FULL_GRID_AT_OWN_LENGTH.has(preset.sizeClass) ? [3] : MICRO_BATCHES) await twoStepsAndAnEvaluation(presetRun(first!, B, maxLength), data, `${preset.id} ${d.file} B ${B} T ${maxLength}`);
        }
      }, 600_000);
    }
    for (const other of sameShapes) {
      it(`preset ${SHADOW_PRESETS[other]!.id} (the shapes of ${preset.id}) trains on the chat demo at micro-batch 3`, async () => {
        const config = presetRun(other, 3, SHADOW_PRESETS[other]!.training.maxLength);
        await twoStepsAndAnEvaluation(config, dataset(DATASETS[0]!.file, config), `${SHADOW_PRESETS[other]!.id} ${DATASETS[0]!.file}`);
      }, 600_000);
    }
  }
});

describe('seeded random run shapes train 2 steps and evaluate', () => {
  it('16 draws of (B, T, accumulation, evaluation batches, validation fraction, dataset)', async () => {
    const r = rng(20261204);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
    for (let i = 0; i < 16; i++) {
      const B = 1 + Math.floor(r() * 20);
      const maxLength = 4 + Math.floor(r() * 150);
      const accumulation = 1 + Math.floor(r() * 4);
      const validationFraction = pick([0, 0.05, 0.2, 0.5]);
      const d = pick(DATASETS);
      const config = { ...presetRun(0, B, maxLength), gradientAccumulationSteps: accumulation, evalBatches: 1 + Math.floor(r() * 3), validationFraction, seed: i };
      const data = dataset(d.file, config);
      if (data.train.length === 0) {
        // A max length below every prompt leaves nothing to learn from: the run must refuse with E302.
        await expect(createRun({ base, config, data: { ...data, padId: 0 } }), `draw ${i}`).rejects.toThrow(/^E302/);
        continue;
      }
      await twoStepsAndAnEvaluation(config, data, `draw ${i}: ${d.file} B ${B} T ${maxLength} accumulation ${accumulation} validation ${validationFraction}`);
    }
  }, 600_000);
});
