/**
 * What the worker holds between commands: the GPU, the loaded base model and its tokenizer, the
 * current dataset and the current shadow adapter. Everything GPU-side stays here; commands return
 * plain data.
 */
import { acquireDevice } from '../src/engine/device';
import { Gpu } from '../src/engine/runtime';
import { GpuErrorCode, StudioError } from '../src/engine/errors';
import type { CausalLM } from '../src/model/causalLM';
import type { ModelSource } from '../src/model/sources/source';
import type { Tokenizer } from '../src/model/tokenizer';
import type { ShadowPeftModel } from '../src/shadow/shadowModel';
import type { TokenizedExample } from '../src/train/data/types';
import type { DatasetSummary, StudioEvent } from './api';

export interface LoadedDataset {
  summary: DatasetSummary;
  maxLength: number;
  validationFraction: number;
  train: TokenizedExample[];
  validation: TokenizedExample[];
  /** the pipeline's counts of records skipped as malformed and of examples dropped in tokenization */
  malformedRecords: number;
  dropped: number;
}

export interface Session {
  /** true while a training run uses the model and the shadow: neither may be replaced then */
  training: boolean;
  gpu: Gpu | null;
  source: ModelSource | null;
  model: CausalLM | null;
  tokenizer: Tokenizer | null;
  dataset: LoadedDataset | null;
  shadow: ShadowPeftModel | null;
  emit: (e: StudioEvent) => void;
}

export const session: Session = { training: false, gpu: null, source: null, model: null, tokenizer: null, dataset: null, shadow: null, emit: () => undefined };

let gpuPromise: Promise<Gpu> | null = null;
/** Run when the session's device is lost, before the device-lost event (a run ends; awaited). */
const lostListeners: (() => Promise<void> | void)[] = [];

/**
 * The worker's one GPU, acquired on first use; a failed acquisition may be retried. After the device
 * is lost the next call acquires a new one: the model, the adapter and every GPU object of the old
 * device are gone, so the model must be loaded again (the UI asks the user to; the tokenized dataset
 * is plain data and stays, and a run resumes from its last checkpoint in IndexedDB).
 */
export function getGpu(): Promise<Gpu> {
  if (!gpuPromise) {
    const acquiring = acquireDevice().then(({ device, caps }) => {
      const gpu = new Gpu(device, caps);
      gpu.onLost(() => deviceLost(gpu));
      session.gpu = gpu;
      return gpu;
    });
    acquiring.catch(() => {
      if (gpuPromise === acquiring) gpuPromise = null;
    });
    gpuPromise = acquiring;
  }
  return gpuPromise;
}

/** Registers what to do when the device is lost (trainCommands ends the run there and waits for its end). */
export function onDeviceLost(listener: () => Promise<void> | void): void {
  lostListeners.push(listener);
}

/**
 * The next getGpu() acquires a new device. A run ends first (with E005; its last checkpoint is
 * whole in IndexedDB), then the device-lost event tells the UI that the model must be loaded again.
 */
async function deviceLost(gpu: Gpu): Promise<void> {
  if (session.gpu !== gpu) return; // a device given up earlier
  gpuPromise = null;
  session.gpu = null;
  await Promise.all(lostListeners.map(async (listener) => listener())).catch(() => undefined);
  const lost = gpu.lostError()!.detail;
  session.emit({
    type: 'device-lost',
    error: { code: GpuErrorCode.deviceLost, message: `${lost}: the model must be loaded again`, hint: 'press Load model (a new device is acquired); a run resumes from its last checkpoint, kept in browser storage' },
  });
}

/** E005 when the model (or adapter) lives on a device that was lost: it must be loaded again. */
function assertOnLiveDevice(what: string, gpu: Gpu | undefined): void {
  if (gpu?.isLost) throw new StudioError(GpuErrorCode.deviceLost, `the GPU device was lost, and the ${what} with it`, 'load the model again on the Model screen (a new device is acquired); a run resumes from its last checkpoint');
}

export function requireModel(): { gpu: Gpu; model: CausalLM; tokenizer: Tokenizer; source: ModelSource } {
  assertOnLiveDevice('model', session.model?.gpu);
  if (!session.gpu || !session.model || !session.tokenizer || !session.source) {
    throw new StudioError('E501', 'no model is loaded', 'load a model on the Model screen first');
  }
  return { gpu: session.gpu, model: session.model, tokenizer: session.tokenizer, source: session.source };
}

export function requireDataset(): LoadedDataset {
  if (!session.dataset) throw new StudioError('E502', 'no dataset is loaded', 'choose or upload data on the Data screen first');
  return session.dataset;
}

export function requireShadow(): ShadowPeftModel {
  assertOnLiveDevice('adapter', session.shadow?.gpu);
  if (!session.shadow) throw new StudioError('E503', 'no shadow adapter exists yet', 'train one, or import an adapter on the Adapters screen');
  return session.shadow;
}

/**
 * GPU objects made from the current shadow or model (generation steppers, the training probe): each
 * registers how to free them, and they are freed before what they were made from is replaced.
 */
const dependents: (() => void)[] = [];

export function onModelOrShadowReplaced(release: () => void): void {
  dependents.push(release);
}

function releaseDependents(): void {
  for (const release of dependents) release();
}

/** Refuses to replace the model or shadow under a running training run. */
function assertNotTraining(what: string): void {
  if (session.training) throw new StudioError('E505', `a training run is in progress, so the ${what} cannot be replaced now`, 'stop the run first (its last checkpoint is kept)');
}

/** The session's one owner of the adapter: the previous one (and what was made from it) is freed. */
export function setShadow(next: ShadowPeftModel | null): void {
  if (session.shadow === next) return;
  assertNotTraining('adapter');
  releaseDependents();
  session.shadow?.destroy();
  session.shadow = next;
}

/** Drops the loaded model (and the adapter on it), freeing their GPU memory, before another loads. */
export function unloadModel(): void {
  assertNotTraining('model');
  setShadow(null);
  releaseDependents();
  session.model?.destroy();
  Object.assign(session, { model: null, tokenizer: null, source: null });
}
