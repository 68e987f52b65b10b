import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Capabilities } from '../../engine/device';
import type { ModelConfig } from '../../model/config';
import { parameterCount } from '../../model/config';
import type { HfConfig } from '../../model/families/hfConfig';
import { modelConfigFromHf } from '../../model/families/registry';
import { QWEN3_0_6B } from '../../model/testing/hubConfigs';
import type { DatasetSummary, LoadedModel, StudioEvent } from '../../../workers/api';
import type { ModelChoice } from '../lib/modelSource';
import type * as Client from '../worker/client';

type ClientModule = typeof Client;

// The store's only way to the worker is the client: replace it with a scripted fake.
const worker = {
  inspectModel: vi.fn(),
  loadModel: vi.fn(),
  loadDataset: vi.fn(),
  estimate: vi.fn(),
  train: vi.fn(),
  pause: vi.fn(),
  stop: vi.fn(),
  generate: vi.fn(),
  listCheckpoints: vi.fn(),
  importAdapter: vi.fn(),
};
vi.mock('../worker/client', async (importActual) => {
  const actual = await importActual<ClientModule>();
  return { ...actual, studioWorker: () => worker, transferring: <T,>(v: T) => v, connectEvents: vi.fn() };
});

const { resetStudio, useStudio } = await import('./store');
const { restoreSession } = await import('./persist');

const loaded = { id: 'tiny', modelType: 'qwen3', layers: 2, parameters: 1000 } as LoadedModel;
const summary = { fileName: 'd.jsonl', format: 'chat', trainExamples: 3 } as DatasetSummary;
const step = (n: number, loss: number): StudioEvent => ({ type: 'train-step', step: n, totalSteps: 10, epoch: n / 10, loss, baseLoss: loss, shadowLoss: loss, lr: 1e-3, gradNorm: 1, tokensPerSecond: 5, elapsedMs: n, etaMs: 1, memoryBytes: 1 });

beforeEach(() => {
  resetStudio();
  for (const f of Object.values(worker)) f.mockReset();
  worker.estimate.mockResolvedValue({ memory: { weights: 1, adapter: 1, activations: 1, total: 3 }, trainableParameters: 10, loraEquivalentRank: 1, tokensPerEpoch: 1, stepsPerEpoch: 1, msPerStep: null, msPerEpoch: null, checkpointBytes: 1 });
});
afterEach(() => resetStudio());

describe('explicit shadow model choice', () => {
  it('checks the typed model through the worker, names it in the settings, and goes back to the implicit shadow', async () => {
    const st = () => useStudio.getState();
    st().setShadowModelInput('not a model');
    await st().checkShadowModel();
    expect(st().training.shadowModel.status).toBe('error');
    expect(st().training.shadowModel.error?.code).toBe('E824');
    expect(st().training.settings.explicitShadow).toBeNull();

    worker.inspectModel.mockResolvedValue({ id: 'HuggingFaceTB/SmolLM2-135M', modelType: 'llama', hidden: 576 });
    st().setShadowModelInput('HuggingFaceTB/SmolLM2-135M');
    await st().checkShadowModel();
    expect(worker.inspectModel).toHaveBeenCalledWith({ kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M' });
    expect(st().training.shadowModel).toMatchObject({ status: 'ready', info: { hidden: 576 } });
    expect(st().training.settings.explicitShadow).toEqual({ source: { kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M' }, ownEmbeddings: true });
    st().setShadowEmbeddings('frozen');
    expect(st().training.settings.explicitShadow).toMatchObject({ ownEmbeddings: true, freezeEmbeddings: true });
    st().setShadowEmbeddings('base');
    expect(st().training.settings.explicitShadow?.ownEmbeddings).toBe(false);
    expect(st().training.settings.explicitShadow?.freezeEmbeddings).toBeUndefined();
    st().applyPreset('classification'); // a preset keeps the chosen shadow model
    expect(st().training.settings.explicitShadow?.ownEmbeddings).toBe(false);

    worker.inspectModel.mockRejectedValue(Object.assign(new Error('x'), { code: 'E123', message: 'could not fetch config.json', hint: 'check the address' }));
    st().setShadowModelInput('owner/missing');
    await st().checkShadowModel();
    expect(st().training.shadowModel).toMatchObject({ status: 'error', info: { hidden: 576 } }); // still the checked one
    expect(st().training.settings.explicitShadow?.source).toEqual({ kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M' });

    st().chooseImplicitShadow();
    expect(st().training.settings.explicitShadow).toBeNull();
  });
});

describe('explicit shadow model choice, out of order', () => {
  it('a check answered after going back to the implicit shadow changes nothing', async () => {
    const st = () => useStudio.getState();
    let answer: (v: unknown) => void = () => undefined;
    worker.inspectModel.mockReturnValue(new Promise((r) => (answer = r)));
    st().setShadowModelInput('owner/model@v2');
    const pending = st().checkShadowModel();
    st().chooseImplicitShadow();
    answer({ id: 'owner/model', modelType: 'llama', hidden: 64 });
    await pending;
    expect(worker.inspectModel).toHaveBeenCalledWith({ kind: 'hub', repo: 'owner/model', revision: 'v2' });
    expect(st().training.settings.explicitShadow).toBeNull();
    expect(st().training.shadowModel.status).toBe('idle');
  });
});

describe('training slice', () => {
  it('explains that a model is needed before a run can start', async () => {
    await useStudio.getState().startTraining();
    const p = useStudio.getState().training.progress;
    expect(p.status).toBe('error');
    expect(p.error?.message).toBe('no model is loaded');
    expect(p.error?.hint).toMatch(/Model screen/);
    expect(worker.train).not.toHaveBeenCalled();
  });

  it('resuming after a reload loads the model and prepares the data first, then trains from the checkpoint', async () => {
    const s = useStudio.getState();
    useStudio.setState({ model: { ...s.model, choice: { key: 'bundled:tiny', label: 'tiny', source: { kind: 'url', url: 'http://x/models/tiny/' } } } });
    s.setDataText('{"text": "hi"}\n', 'd.jsonl', 'demo', 'd.jsonl');
    worker.loadModel.mockResolvedValue(loaded);
    worker.loadDataset.mockResolvedValue(summary);
    worker.train.mockResolvedValue(undefined);
    await useStudio.getState().startTraining('ckpt-1');
    expect(worker.loadModel).toHaveBeenCalledWith({ kind: 'url', url: 'http://x/models/tiny/' });
    expect(worker.loadDataset).toHaveBeenCalledWith(expect.objectContaining({ text: '{"text": "hi"}\n', fileName: 'd.jsonl', onError: 'skip' }));
    expect(worker.train).toHaveBeenCalledWith(useStudio.getState().training.settings, 'ckpt-1');
    const st = useStudio.getState();
    expect(st.model.phase.status).toBe('loaded');
    expect(st.data.status).toBe('ready');
    expect(st.training.progress.status).toBe('running');
    expect(st.training.preparing).toBeNull();
  });

  it('worker events reach the store only when the queue is flushed, in one update', () => {
    const s = useStudio.getState();
    let updates = 0;
    const unsub = useStudio.subscribe(() => updates++);
    for (let i = 1; i <= 50; i++) s.receiveEvent(step(i, 5 - i / 20));
    s.receiveEvent({ type: 'token', requestId: 99, mode: 'base', text: 'x' });
    expect(useStudio.getState().training.progress.history.step).toHaveLength(0);
    expect(updates).toBe(0);
    s.flushEvents();
    unsub();
    expect(updates).toBe(2); // the training batch and the token batch
    const h = useStudio.getState().training.progress.history;
    expect(h.step).toHaveLength(50);
    expect(h.loss[49]).toBeCloseTo(2.5, 12);
  });

  it('a preset sets the authors’ shadow shape and learning rate; an edit makes the settings custom', () => {
    const s = useStudio.getState();
    s.applyPreset('classification');
    expect(useStudio.getState().training.settings.learningRate).toBe(2e-4);
    expect(useStudio.getState().training.settings.shadow.shadow_intermediate_size).toBe(256);
    s.updateShadow({ injection_hidden_size: 32 });
    expect(useStudio.getState().training.presetId).toBe('custom');
    expect(useStudio.getState().training.settings.shadow.injection_hidden_size).toBe(32);
  });
});

describe('playground', () => {
  it('streams tokens into the column of their request and ends with the final result', async () => {
    const s = useStudio.getState();
    useStudio.setState({ model: { ...s.model, phase: { status: 'loaded', held: { model: loaded, key: 'k', label: 'tiny' } } } });
    worker.generate.mockImplementation(async (req: { mode: 'base' | 'base_shadow' | 'shadow_only' }, requestId: number) => {
      useStudio.getState().receiveEvent({ type: 'token', requestId, mode: req.mode, text: 'He' });
      useStudio.getState().receiveEvent({ type: 'token', requestId: requestId + 1000, mode: req.mode, text: 'ignored' });
      useStudio.getState().flushEvents();
      expect(useStudio.getState().playground.columns[req.mode].text).toBe('He');
      return { mode: req.mode, text: `Hello from ${req.mode}`, tokens: [1, 2], stoppedBy: 'eos', tokensPerSecond: 12 };
    });
    await useStudio.getState().runPlayground();
    const cols = useStudio.getState().playground.columns;
    expect(worker.generate).toHaveBeenCalledTimes(3);
    for (const mode of ['base', 'base_shadow', 'shadow_only'] as const) {
      expect(cols[mode]).toMatchObject({ status: 'done', text: `Hello from ${mode}`, tokensPerSecond: 12, tokenCount: 2 });
    }
    expect(useStudio.getState().playground.running).toBe(false);
  });

  it('a failing mode shows its error and the others still run', async () => {
    const s = useStudio.getState();
    useStudio.setState({ model: { ...s.model, phase: { status: 'loaded', held: { model: loaded, key: 'k', label: 'tiny' } } } });
    worker.generate.mockImplementation(async (req: { mode: string }) => {
      if (req.mode === 'shadow_only') throw { code: 'E301', message: 'no adapter', hint: 'train or import one' };
      return { mode: req.mode, text: 'ok', tokens: [1], stoppedBy: 'eos', tokensPerSecond: 1 };
    });
    await useStudio.getState().runPlayground();
    const cols = useStudio.getState().playground.columns;
    expect(cols.base.status).toBe('done');
    expect(cols.shadow_only).toMatchObject({ status: 'error', error: { code: 'E301', hint: 'train or import one' } });
  });
});

describe('adapters and data', () => {
  it('an import without the weights file is refused with a fix before reaching the worker', async () => {
    const file = new File(['{"alpha": 0.1}'], 'shadow_config.json');
    await useStudio.getState().importAdapterFiles([file]);
    const a = useStudio.getState().adapters;
    expect(a.importStatus).toBe('error');
    expect(a.importError?.code).toBe('E803');
    expect(worker.importAdapter).not.toHaveBeenCalled();
  });

  it('data waits for a model (its tokenizer) and says so', async () => {
    useStudio.getState().setDataText('{"text": "a"}', 'a.jsonl', 'paste');
    expect(await useStudio.getState().prepareData()).toBe(false);
    expect(useStudio.getState().data.status).toBe('waiting-model');
    expect(worker.loadDataset).not.toHaveBeenCalled();
  });

  it('a parse error keeps its line number and hint', async () => {
    const s = useStudio.getState();
    useStudio.setState({ model: { ...s.model, phase: { status: 'loaded', held: { model: loaded, key: 'k', label: 'tiny' } } } });
    worker.loadDataset.mockRejectedValue({ code: 'E401', message: 'E401 line 3: invalid JSON — fix the line or choose "skip malformed records"', hint: 'fix the line or choose "skip malformed records"' });
    s.setDataText('x', 'a.jsonl', 'paste');
    await useStudio.getState().prepareData();
    expect(useStudio.getState().data.error).toEqual({ code: 'E401', message: 'line 3: invalid JSON', hint: 'fix the line or choose "skip malformed records"' });
  });
});

describe('estimate', () => {
  it('is asked once per settings and prepared data, again after a change', async () => {
    const s = useStudio.getState();
    useStudio.setState({ model: { ...s.model, phase: { status: 'loaded', held: { model: loaded, key: 'k', label: 'tiny' } } }, data: { ...s.data, status: 'ready', summary, preparedRevision: 1, revision: 1 } });
    await useStudio.getState().requestEstimate();
    await useStudio.getState().requestEstimate();
    expect(worker.estimate).toHaveBeenCalledTimes(1);
    expect(useStudio.getState().training.estimateStatus).toBe('ready');
    useStudio.getState().updateSettings({ microBatchSize: 2 });
    await useStudio.getState().requestEstimate();
    expect(worker.estimate).toHaveBeenCalledTimes(2);
    expect(worker.estimate).toHaveBeenLastCalledWith(expect.objectContaining({ microBatchSize: 2 }));
  });

  it('waits for a model and prepared data', async () => {
    await useStudio.getState().requestEstimate();
    expect(useStudio.getState().training.estimateStatus).toBe('waiting');
    expect(worker.estimate).not.toHaveBeenCalled();
  });
});

/** What the worker's inspectModel / loadModel answer for a config (ModelInfo as workers/modelCommands.ts builds it). */
function infoOf(id: string, c: ModelConfig): LoadedModel {
  return {
    id,
    revision: null,
    modelType: c.modelType,
    layers: c.numLayers,
    hidden: c.hiddenSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    intermediate: c.intermediateSize,
    vocab: c.vocabSize,
    tiedEmbeddings: c.tieWordEmbeddings,
    maxPositionEmbeddings: c.maxPositionEmbeddings,
    parameters: parameterCount(c),
    torchDtype: c.torchDtype,
    downloadBytes: null,
    memory: { weights: 1, inference: 1, training: 1, fits: true, message: null },
    storage: 'f32',
    weightBytes: 1,
  };
}
const BUNDLED = infoOf('kjv-llama-3m', modelConfigFromHf(JSON.parse(readFileSync(new URL('../../../public/models/kjv-llama-3m/config.json', import.meta.url), 'utf8')) as HfConfig));
const QWEN06 = infoOf('Qwen/Qwen3-0.6B', modelConfigFromHf(QWEN3_0_6B));
const QWEN4B = infoOf('Qwen/Qwen3-4B', modelConfigFromHf({ ...QWEN3_0_6B, hidden_size: 2560, num_hidden_layers: 36, num_attention_heads: 32, intermediate_size: 9728 }));
const bundledChoice: ModelChoice = { key: 'bundled:kjv-llama-3m', label: 'KJV Llama 3M', source: { kind: 'url', url: 'http://x/models/kjv-llama-3m/' } };
const hubChoice = (repo: string): ModelChoice => ({ key: `hub:${repo}`, label: repo, source: { kind: 'hub', repo } });

/** Inspecting, then loading: the worker answers with `info` both times. */
async function chooseAndLoad(choice: ModelChoice, info: LoadedModel): Promise<void> {
  worker.inspectModel.mockResolvedValue(info);
  worker.loadModel.mockResolvedValue(info);
  await useStudio.getState().chooseModel(choice);
  expect(await useStudio.getState().loadChosenModel()).toBe(true);
}

describe('presets fitted to the chosen model', () => {
  const st = () => useStudio.getState();

  it('choosing the bundled model preselects the quick start (micro-batch ≤ 4, max length ≤ 256); a 0.6B model the 0.6B recipe', async () => {
    worker.inspectModel.mockResolvedValue(QWEN06);
    await st().chooseModel(hubChoice('Qwen/Qwen3-0.6B'));
    expect(st().training).toMatchObject({ presetId: 'reasoning', presetSource: 'auto', settings: { microBatchSize: 8, gradientAccumulation: 4, learningRate: 3e-3 } });
    expect(st().data.options.maxLength).toBe(512);

    await chooseAndLoad(bundledChoice, BUNDLED);
    const t = st().training;
    expect(t.presetId).toBe('quick-start');
    expect(t.presetSource).toBe('auto');
    expect(t.settings.microBatchSize).toBeLessThanOrEqual(4);
    expect(t.settings.microBatchSize * t.settings.gradientAccumulation).toBeLessThanOrEqual(4);
    expect(t.settings.epochs).toBe(1);
    expect(t.settings.shadow.shadow_intermediate_size).toBe(128);
    expect(st().data.options.maxLength).toBeLessThanOrEqual(256);
  });

  it('the data is prepared after the fitting preset set its max length', async () => {
    worker.inspectModel.mockResolvedValue(QWEN06);
    await st().chooseModel(hubChoice('Qwen/Qwen3-0.6B'));
    st().setDataText('{"text": "hi"}\n', 'd.jsonl', 'demo', 'd.jsonl');
    worker.loadDataset.mockResolvedValue(summary);
    worker.inspectModel.mockRejectedValue(new Error('offline')); // no inspection: the load's answer decides
    await st().chooseModel(bundledChoice);
    expect(st().training.presetId).toBe('reasoning');
    worker.loadModel.mockResolvedValue(BUNDLED);
    await st().loadChosenModel();
    expect(st().training.presetId).toBe('quick-start');
    expect(worker.loadDataset).toHaveBeenCalledTimes(1);
    expect(worker.loadDataset).toHaveBeenCalledWith(expect.objectContaining({ maxLength: 128 }));
    expect(st().data.preparedRevision).toBe(st().data.revision);
  });

  it('a preset the user chose is kept when another model is chosen and loaded', async () => {
    await chooseAndLoad(hubChoice('Qwen/Qwen3-0.6B'), QWEN06);
    st().applyPreset('classification');
    expect(st().training.presetSource).toBe('user');
    await chooseAndLoad(bundledChoice, BUNDLED);
    expect(st().training).toMatchObject({ presetId: 'classification', presetSource: 'user', settings: { learningRate: 2e-4 } });
  });

  it('an edit of the settings or of the data’s max length is the user’s too, and is kept', async () => {
    await chooseAndLoad(bundledChoice, BUNDLED);
    st().updateSettings({ epochs: 3 });
    await chooseAndLoad(hubChoice('Qwen/Qwen3-0.6B'), QWEN06);
    expect(st().training).toMatchObject({ presetId: 'custom', presetSource: 'user', settings: { epochs: 3, microBatchSize: 2 } });

    resetStudio();
    await chooseAndLoad(bundledChoice, BUNDLED);
    st().setDataOptions({ validationFraction: 0.2 }); // not part of a preset
    expect(st().training.presetSource).toBe('auto');
    st().setDataOptions({ maxLength: 100 });
    expect(st().training).toMatchObject({ presetId: 'custom', presetSource: 'user' });
    await chooseAndLoad(hubChoice('Qwen/Qwen3-0.6B'), QWEN06);
    expect(st().data.options.maxLength).toBe(100);
    expect(st().training.presetId).toBe('custom');
  });

  it('the device’s buffer limits and the model’s positions shape the fitted batch', async () => {
    const caps = { limits: { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 } } as Capabilities;
    useStudio.setState({ device: { status: 'ready', caps, error: null } });
    await chooseAndLoad(hubChoice('Qwen/Qwen3-4B'), QWEN4B);
    expect(st().training).toMatchObject({ presetId: 'reasoning-4b', settings: { microBatchSize: 4, gradientAccumulation: 4 } });
    expect(st().training.presetNotes).toEqual([expect.stringMatching(/^micro-batch 4 \(not 8\)/)]);
    // a click fits the preset as well
    st().applyPreset('reasoning');
    expect(st().training.settings).toMatchObject({ microBatchSize: 4, gradientAccumulation: 8 });

    // where the worker reports the model's positions, the max length stays within them
    resetStudio();
    await chooseAndLoad(hubChoice('owner/short'), { ...QWEN06, maxPositionEmbeddings: 64 } as LoadedModel);
    expect(st().data.options.maxLength).toBe(64);
    expect(st().training.presetNotes).toEqual(['max length 64 (not 512): the model has 64 positions']);
  });

  it('a session saved before fitted presets: a named preset is refitted, custom settings stay the user’s', async () => {
    const saved = (presetId: string) => ({
      screen: 'configure' as const,
      model: null,
      data: { text: null, fileName: 'x.jsonl', origin: 'none' as const, demoFile: null, options: { onError: 'skip' as const, maxLength: 512, validationFraction: 0.1, seed: 42 } },
      training: { presetId, settings: st().training.settings, history: st().training.progress.history },
    });
    restoreSession(saved('reasoning'));
    expect(st().training.presetSource).toBe('auto');
    await chooseAndLoad(bundledChoice, BUNDLED);
    expect(st().training.presetId).toBe('quick-start');

    resetStudio();
    restoreSession(saved('custom'));
    expect(st().training.presetSource).toBe('user');
    await chooseAndLoad(bundledChoice, BUNDLED);
    expect(st().training.presetId).toBe('custom');
    expect(st().data.options.maxLength).toBe(512);
  });
});
