/**
 * Issue 20, "the first hour in the studio": one model state, pasted text re-detected, stale summaries
 * (the store and its selectors; e2e/firstHour.spec.ts walks the same in the browser).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DatasetSummary, LoadedModel } from '../../../workers/api';
import type { ModelChoice } from '../lib/modelSource';
import type * as Client from '../worker/client';

type ClientModule = typeof Client;

// The store's only way to the worker is the client: replace it with a scripted fake.
const worker = {
  inspectModel: vi.fn(),
  loadModel: vi.fn(),
  heldModelId: vi.fn(),
  loadDataset: vi.fn(),
  estimate: vi.fn(),
};
vi.mock('../worker/client', async (importActual) => {
  const actual = await importActual<ClientModule>();
  return { ...actual, studioWorker: () => worker, transferring: <T,>(v: T) => v, connectEvents: vi.fn() };
});

const { resetStudio, useStudio } = await import('./store');
const { selectDataView, selectModelLoaded, selectModelView, selectNavBadges } = await import('./selectors');

const bundled: ModelChoice = { key: 'bundled:kjv', label: 'KJV Llama 3M', source: { kind: 'url', url: 'http://x/models/kjv/', label: 'local folder kjv' } };
const hub: ModelChoice = { key: 'hub:owner/model', label: 'owner/model', source: { kind: 'hub', repo: 'owner/model' } };
const kjv = { id: 'local folder kjv', modelType: 'llama', layers: 4, parameters: 3_200_000, downloadBytes: null, weightBytes: 12_800_000, storage: 'f32' } as unknown as LoadedModel;
const summary = { fileName: 'd.jsonl', format: 'chat', trainExamples: 3, issues: [], issueCount: 0 } as unknown as DatasetSummary;
const offline = { code: 'E201', message: 'could not fetch config.json from https://huggingface.co/owner/model/resolve/main/: TypeError: Failed to fetch', hint: 'check the network connection' };
const st = () => useStudio.getState();

beforeEach(() => {
  resetStudio();
  for (const f of Object.values(worker)) f.mockReset();
  worker.estimate.mockResolvedValue({ memory: { weights: 1, adapter: 1, activations: 1, total: 3 }, trainableParameters: 10, loraEquivalentRank: 1, tokensPerEpoch: 1, stepsPerEpoch: 1, msPerStep: null, msPerEpoch: null, checkpointBytes: 1 });
});
afterEach(() => resetStudio());

async function loadBundled() {
  worker.inspectModel.mockResolvedValueOnce(kjv);
  await st().chooseModel(bundled);
  worker.loadModel.mockResolvedValueOnce(kjv);
  expect(await st().loadChosenModel()).toBe(true);
}

describe('one model state', () => {
  it('a Hub model that fails offline never hides the loaded one; choosing the bundled model again leaves no error behind', async () => {
    await loadBundled();
    expect(selectNavBadges(st()).model).toBe('loaded');

    // Look up: the config cannot be fetched; the bundled model is still what the worker holds
    worker.inspectModel.mockRejectedValueOnce(offline);
    await st().chooseModel(hub);
    expect(st().model.phase).toEqual({ status: 'failed', key: hub.key, stage: 'lookup', error: { ...offline, message: offline.message }, held: { model: kjv, key: bundled.key, label: bundled.label } });
    expect(selectNavBadges(st()).model).toBe('loaded');
    expect(selectModelView(st())).toMatchObject({ loadedHere: false, loadStatus: 'error', error: { code: 'E201' } });

    // Load: the worker fails reading config.json, before freeing the old model, and says it still holds it
    worker.loadModel.mockRejectedValueOnce(offline);
    worker.heldModelId.mockResolvedValueOnce(kjv.id);
    expect(await st().loadChosenModel()).toBe(false);
    const failed = st().model.phase;
    expect(failed).toMatchObject({ status: 'failed', stage: 'lookup', held: { key: bundled.key } });
    expect(selectModelLoaded(st())).toBe(true);

    // the bundled model again: loaded, no error, and the data is prepared with it
    worker.inspectModel.mockResolvedValueOnce(kjv);
    await st().chooseModel(bundled);
    expect(st().model.phase).toEqual({ status: 'loaded', held: { model: kjv, key: bundled.key, label: bundled.label } });
    expect(selectModelView(st())).toMatchObject({ loadedHere: true, loadStatus: 'loaded', error: null });
    expect(selectNavBadges(st()).model).toBe('loaded');
    worker.loadDataset.mockResolvedValueOnce(summary);
    st().setDataText('{"text": "a"}\n', 'd.jsonl', 'paste');
    expect(await st().prepareData()).toBe(true);
    expect(st().data.status).toBe('ready');
  });

  it('a load that fails on the weights leaves no model (the worker freed it first), and the screens say so', async () => {
    await loadBundled();
    worker.inspectModel.mockResolvedValueOnce({ ...kjv, id: 'owner/model' });
    await st().chooseModel(hub);
    worker.loadModel.mockRejectedValueOnce({ code: 'E202', message: 'fetching model.safetensors failed with HTTP 500', hint: 'try again later' });
    worker.heldModelId.mockResolvedValueOnce(null);
    expect(await st().loadChosenModel()).toBe(false);
    expect(st().model.phase).toMatchObject({ status: 'failed', stage: 'load', held: null, error: { code: 'E202' } });
    expect(selectModelLoaded(st())).toBe(false);
    expect(selectNavBadges(st()).model).toBe('');
    st().setDataText('{"text": "a"}\n', 'd.jsonl', 'paste');
    expect(await st().prepareData()).toBe(false);
    expect(selectDataView(st()).waitingForModel).toBe(true);
    expect(worker.loadDataset).not.toHaveBeenCalled();
  });

  it('a lookup answered after a newer choice changes nothing; choosing waits while a model loads', async () => {
    let answer: (v: unknown) => void = () => undefined;
    worker.inspectModel.mockReturnValueOnce(new Promise((r) => (answer = r)));
    const first = st().chooseModel(hub);
    worker.inspectModel.mockResolvedValueOnce(kjv);
    await st().chooseModel(bundled);
    answer({ ...kjv, id: 'owner/model' });
    await first;
    expect(st().model.info?.id).toBe(kjv.id);
    expect(st().model.choice?.key).toBe(bundled.key);

    let loaded: (v: unknown) => void = () => undefined;
    worker.loadModel.mockReturnValueOnce(new Promise((r) => (loaded = r)));
    const loading = st().loadChosenModel();
    expect(selectNavBadges(st()).model).toBe('loading');
    await st().chooseModel(hub); // ignored: the screen disables the choices meanwhile
    expect(st().model.choice?.key).toBe(bundled.key);
    loaded(kjv);
    expect(await loading).toBe(true);
    expect(selectModelView(st()).loadedHere).toBe(true);
  });
});

describe('pasted text', () => {
  it('is detected again on every change: CSV, then JSONL', () => {
    st().pasteText('prompt,completion\nHi,Hello\n');
    expect(st().data.fileName).toBe('pasted.csv');
    st().pasteText('{"prompt": "Hi", "completion": "Hello"}\n');
    expect(st().data.fileName).toBe('pasted.jsonl');
    st().pasteText('text\tlabel\ngood\tpos\n');
    expect(st().data.fileName).toBe('pasted.tsv');
  });

  it('the user’s pick holds while edits keep the detected type, and a paste of another type goes back to detection', () => {
    st().pasteText('a,b\n1,2\n');
    st().choosePasteKind('txt');
    expect(st().data).toMatchObject({ fileName: 'pasted.txt', pasteKind: 'txt' });
    st().pasteText('a,b\n1,2\n3,4\n'); // still looks like CSV: the pick holds
    expect(st().data.fileName).toBe('pasted.txt');
    st().pasteText('{"text": "x"}\n'); // now JSONL
    expect(st().data).toMatchObject({ fileName: 'pasted.jsonl', pasteKind: null });
    st().choosePasteKind('auto');
    expect(st().data.fileName).toBe('pasted.jsonl');
  });
});

describe('stale summaries', () => {
  it('an empty file after a good one hides the old summary; edited text greys it and keeps its action', async () => {
    await loadBundled();
    worker.loadDataset.mockResolvedValue(summary);
    st().setDataText('{"text": "a"}\n', 'good.jsonl', 'upload');
    expect(await st().prepareData()).toBe(true);
    expect(selectDataView(st())).toMatchObject({ stale: false, showSummary: true, canPrepare: true });
    expect(selectNavBadges(st()).data).toBe('ready');

    st().setDataText('', 'empty.jsonl', 'upload');
    expect(await st().prepareData()).toBe(false);
    expect(st().data.error).toMatchObject({ code: 'E811', message: 'the file empty.jsonl is empty' });
    expect(selectDataView(st())).toMatchObject({ stale: false, showSummary: false, canPrepare: false });
    expect(selectNavBadges(st()).data).toBe('');

    st().pasteText('{"text": "b"}\n');
    expect(selectDataView(st())).toMatchObject({ stale: true, showSummary: true, canPrepare: true });
    expect(await st().prepareData()).toBe(true);
    expect(selectDataView(st()).stale).toBe(false);
  });
});
