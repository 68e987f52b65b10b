/**
 * What the worker holds between commands: the GPU, the loaded base model and its tokenizer, the
 * current dataset and the current shadow adapter. Everything GPU-side stays here; commands return
 * plain data.
 */
import { acquireDevice } from '../src/engine/device';
import { Gpu } from '../src/engine/runtime';
import { StudioError } from '../src/engine/errors';
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

/** The worker's one GPU, acquired on first use; a failed acquisition may be retried. */
export function getGpu(): Promise<Gpu> {
  gpuPromise ??= acquireDevice({
    onLost: (info) => session.emit({ type: 'train-status', status: 'error', error: { code: 'E005', message: `the GPU device was lost (${info.reason}): ${info.message}`, hint: 'reload the page; your last checkpoint is kept in browser storage' } }),
  }).then(({ device, caps }) => (session.gpu = new Gpu(device, caps)));
  gpuPromise.catch(() => (gpuPromise = null));
  return gpuPromise;
}

export function requireModel(): { gpu: Gpu; model: CausalLM; tokenizer: Tokenizer; source: ModelSource } {
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
