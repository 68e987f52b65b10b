import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CheckpointInfo, DatasetSummary, LoadedModel, WorkerErrorInfo } from '../../../workers/api';
import type * as Client from '../worker/client';

// The store's only way to the worker is the client: replace it with a scripted fake.
const worker = {
  loadModel: vi.fn(),
  loadDataset: vi.fn(),
  estimate: vi.fn(),
  train: vi.fn(),
  listCheckpoints: vi.fn(),
};
vi.mock('../worker/client', async (importActual) => {
  const actual = await importActual<typeof Client>();
  return { ...actual, studioWorker: () => worker, connectEvents: vi.fn() };
});

const { resetStudio, useStudio } = await import('./store');

const loaded = { id: 'tiny', modelType: 'qwen3', layers: 2, parameters: 1000 } as LoadedModel;
const summary = { fileName: 'd.jsonl', format: 'chat', trainExamples: 3, fingerprint: 'f' } as DatasetSummary;
const checkpoint = (step: number, createdAt: number): CheckpointInfo => ({ id: `run@${step}`, runId: 'run', step, epoch: 0, loss: 1, bytes: 1, createdAt, baseModel: 'tiny' });
const lost: WorkerErrorInfo = { code: 'E005', message: 'the GPU device was lost (unknown), and with it everything on the GPU: the model must be loaded again', hint: 'press Load model (a new device is acquired); a run resumes from its last checkpoint, kept in browser storage' };

beforeEach(() => {
  resetStudio();
  for (const f of Object.values(worker)) f.mockReset();
});

describe('a lost GPU device in the UI', () => {
  it('shows the run failed with E005, says the model must be loaded again, offers the newest checkpoint, and Resume loads the model and continues from it', async () => {
    const s = useStudio.getState();
    useStudio.setState({
      model: { ...s.model, choice: { key: 'k', label: 'tiny', source: { kind: 'url', url: 'http://x/m/' } }, phase: { status: 'loaded', held: { model: loaded, key: 'k', label: 'tiny' } } },
      data: { ...s.data, text: '{"text": "a"}', fileName: 'd.jsonl', status: 'ready', summary, preparedRevision: 1, revision: 1 },
      training: { ...s.training, progress: { ...s.training.progress, status: 'running' } },
    });
    worker.listCheckpoints.mockResolvedValue([checkpoint(3, 3000), checkpoint(4, 4000), checkpoint(2, 2000)]);
    // what the worker sends: the run's end, then the loss itself
    s.receiveEvent({ type: 'train-status', status: 'error', error: { code: 'E005', message: 'E005 the GPU device was lost', hint: 'load the model again' } });
    s.receiveEvent({ type: 'device-lost', error: lost });
    s.flushEvents();
    await vi.waitFor(() => expect(useStudio.getState().training.resumeOffer).not.toBeNull());
    const st = useStudio.getState();
    expect(st.training.progress.status).toBe('error');
    expect(st.training.progress.error?.code).toBe('E005');
    expect(st.model.phase).toEqual({ status: 'failed', key: 'k', stage: 'load', error: lost, held: null });
    expect(st.training.resumeOffer?.id).toBe('run@4');

    // Resume from the offer: the model loads again (on a new device), the data is prepared for it, the run resumes.
    worker.loadModel.mockResolvedValue(loaded);
    worker.loadDataset.mockResolvedValue(summary);
    worker.estimate.mockResolvedValue({ memory: { weights: 1, adapter: 1, activations: 1, total: 3 } });
    worker.train.mockResolvedValue(undefined);
    await st.startTraining('run@4');
    expect(worker.loadModel).toHaveBeenCalledTimes(1);
    expect(worker.train).toHaveBeenCalledWith(expect.anything(), 'run@4');
    expect(useStudio.getState().model.phase.status).toBe('loaded');
    expect(useStudio.getState().training.progress.status).toBe('running');
  });

  it('a loss while a model loads leaves the load to fail by itself', async () => {
    const s = useStudio.getState();
    useStudio.setState({ model: { ...s.model, phase: { status: 'loading', key: 'k', progress: null } } });
    worker.listCheckpoints.mockResolvedValue([]);
    await useStudio.getState().deviceLost(lost);
    expect(useStudio.getState().model.phase.status).toBe('loading');
    expect(useStudio.getState().training.resumeOffer).toBeNull();
  });
});
