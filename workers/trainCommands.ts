import { StudioError } from '../src/engine/errors';
import type { ModelSource } from '../src/model/sources/source';
import type { ExplicitShadow } from '../src/shadow/explicitShadow';
import { readExplicitShadow } from '../src/shadow/explicitShadow';
import type { ShadowPeftModel } from '../src/shadow/shadowModel';
import type { ShadowWorkspace } from '../src/shadow/shadowModel';
import { destroyShadowWorkspace } from '../src/shadow/shadowWorkspace';
import { inspectLayerStates, LAYER_STATS } from '../src/shadow/inspect';
import { shadowCachedStepper } from '../src/shadow/generate';
import { generate } from '../src/model/generate';
import type { Stepper } from '../src/model/generate';
import { CheckpointStore } from '../src/train/checkpoints';
import { TrainController } from '../src/train/controller';
import { estimateRun } from '../src/train/estimate';
import { evaluate as evaluateSet } from '../src/train/evaluate';
import type { TrainEvent } from '../src/train/events';
import { prepareBatch } from '../src/train/prepareBatch';
import { epochOfProgress } from '../src/train/progress';
import type { RunConfig } from '../src/train/runConfig';
import { runConfig } from '../src/train/runConfig';
import type { RunParts } from '../src/train/runSetup';
import { assertTrainable, createRun, resolvePadId } from '../src/train/runSetup';
import { longestSequence, planRun } from '../src/train/stepPlan';
import { checkpointAdapterFiles } from '../src/train/checkpointExport';
import type { AdapterFilesPayload, CheckpointInfo, Estimate, LayerStates, TrainingSettings } from './api';
import { sourceOf } from './modelCommands';
import { onDeviceLost, onModelOrShadowReplaced, requireDataset, requireModel, session, setShadow } from './session';

interface Run {
  parts: RunParts;
  controller: TrainController;
  config: RunConfig;
  totalSteps: number;
  done: Promise<void>;
}

let run: Run | null = null;
/** A run being set up (reading weights, compiling): Stop then ends it as soon as it exists. */
let starting: { stopRequested: boolean } | null = null;
let store: Promise<CheckpointStore> | null = null;

/** The IndexedDB checkpoint store; asks the browser to keep the studio's storage persistent. */
function checkpointStore(): Promise<CheckpointStore> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  store ??= CheckpointStore.open({ storage });
  return store;
}

/** The explicit shadow of the settings (its config.json read from its source), or null. */
async function explicitOf(settings: TrainingSettings): Promise<{ explicit: ExplicitShadow; source: ModelSource } | null> {
  const e = settings.explicitShadow;
  if (!e) return null;
  const source = sourceOf(e.source);
  return { explicit: await readExplicitShadow(source, { ownEmbeddings: e.ownEmbeddings, freezeEmbeddings: e.freezeEmbeddings }), source };
}

function configOf(settings: TrainingSettings, explicitShadow: ExplicitShadow | null): RunConfig {
  const { source } = requireModel();
  const data = requireDataset();
  return runConfig(
    { id: source.id, revision: source.revision },
    {
      shadow: settings.shadow,
      explicitShadow,
      shadowLossWeight: settings.shadowLossWeight,
      learningRate: settings.learningRate,
      weightDecay: settings.weightDecay,
      warmupRatio: settings.warmupRatio,
      schedule: settings.schedule,
      maxGradNorm: settings.maxGradNorm,
      microBatchSize: settings.microBatchSize,
      gradientAccumulationSteps: settings.gradientAccumulation,
      epochs: settings.epochs,
      maxLength: data.maxLength,
      validationFraction: data.validationFraction,
      // The UI's 0 means "off", the run config's null.
      evalEvery: settings.evalEvery || null,
      ...(settings.evalBatches !== undefined ? { evalBatches: settings.evalBatches || null } : {}),
      earlyStoppingPatience: settings.earlyStoppingPatience || null,
      checkpointEvery: settings.checkpointEvery || null,
      seed: settings.seed,
    },
  );
}

function forward(e: TrainEvent, totalSteps: number): void {
  const emit = session.emit;
  switch (e.type) {
    case 'step':
      emit({ type: 'train-step', step: e.step, totalSteps, epoch: e.epoch, loss: e.loss, baseLoss: e.baseLoss, shadowLoss: e.shadowLoss, lr: e.lr, gradNorm: e.gradNorm, tokensPerSecond: e.tokensPerSecond, elapsedMs: e.elapsedMs, etaMs: e.etaMs, memoryBytes: e.memoryBytes ?? 0 });
      break;
    case 'eval':
      emit({ type: 'train-eval', step: e.step, valLoss: e.valLoss, perplexity: e.perplexity });
      // one sample at a time: an evaluation while the last sample still runs takes none
      if (!sampling) sampled = sampleAt(e.step);
      break;
    case 'eval-progress':
      emit({ type: 'train-eval-progress', step: e.step, done: e.done, total: e.total });
      break;
    case 'eval-cancelled':
      emit({ type: 'train-eval-cancelled', step: e.step, reason: e.reason });
      break;
    case 'skipped':
      emit({ type: 'train-skipped', step: e.step, reason: e.reason });
      break;
    case 'paused':
      emit({ type: 'train-status', status: 'paused', reason: e.reason === 'non-finite' ? 'paused after 3 steps in a row with NaN or infinite gradients; lower the learning rate, then resume' : 'paused' });
      // A pause is a natural save point: the next reload can resume from exactly here.
      if (run) void run.parts.trainer.saveCheckpoint().catch((err: unknown) => warn(e.step, err));
      break;
    case 'checkpoint':
      emit({ type: 'train-checkpoint', step: e.step, id: e.id });
      break;
    case 'checkpoint-error':
      emit({ type: 'train-warning', step: e.step, error: { code: e.code, message: e.message, hint: e.hint } });
      break;
    case 'done':
      break;
  }
}

let sampling = false;
/** The last sample's work (it runs beside the trainer, between its GPU awaits). */
let sampled: Promise<void> = Promise.resolve();

/** Resolves when the sample and probe started by the last evaluation have finished (tests; shutdown). */
export function samplesSettled(): Promise<void> {
  return sampled;
}
/** The probe's workspace, kept like the sampler's. */
let probe: { shadow: ShadowPeftModel; T: number; ws: ShadowWorkspace } | null = null;
/** The sampler's stepper, kept for the run's adapter so its GPU buffers are allocated once. */
let sampler: { shadow: ShadowPeftModel; maxT: number; stepper: Stepper } | null = null;

/**
 * A short greedy continuation of a fixed prompt (the first validation example's prompt) by base +
 * shadow, after each evaluation, so the Train screen shows what the adapter is learning. It runs
 * between the trainer's GPU awaits; one at a time, skipped if the previous one is still running.
 */
async function sampleAt(step: number): Promise<void> {
  const data = session.dataset;
  const shadow = session.shadow;
  if (!data || !shadow) return; // one at a time: forward() starts none while another runs
  const example = data.validation[0] ?? data.train[0];
  if (!example) return;
  sampling = true;
  try {
    const { tokenizer } = requireModel();
    const promptLength = Math.max(1, example.labels.findIndex((l) => l !== -100));
    const prompt = example.inputIds.slice(0, Math.min(promptLength, 96));
    const maxT = prompt.length + SAMPLE_TOKENS;
    if (!sampler || sampler.shadow !== shadow || sampler.maxT < maxT) {
      sampler?.stepper.release();
      sampler = { shadow, maxT, stepper: await shadowCachedStepper(shadow, maxT, 'base_shadow') };
    }
    const stepper = sampler.stepper;
    const r = await generate(stepper, prompt, { maxNewTokens: SAMPLE_TOKENS, stopTokenIds: [...shadow.base.config.eosTokenIds] });
    const promptText = tokenizer.decode(prompt, { skip_special_tokens: true });
    session.emit({ type: 'sample', step, prompt: promptText, text: tokenizer.decode(r.tokens, { skip_special_tokens: true }) });
    // The same probe prompt's layer statistics, so the Inspect screen can show them over training.
    if (!probe || probe.shadow !== shadow || probe.T !== prompt.length) {
      if (probe) destroyShadowWorkspace(probe.shadow.gpu, probe.ws);
      probe = { shadow, T: prompt.length, ws: await shadow.createWorkspace(1, prompt.length) };
    }
    const states = await inspectLayerStates(shadow, prompt, probe.ws);
    session.emit({
      type: 'inspect-snapshot',
      step,
      prompt: promptText,
      states: { tokens: prompt.map((id) => tokenizer.decode([id])), layers: states.slots, stats: Object.fromEntries(LAYER_STATS.map((s) => [s, Array.from(states.stats[s])])) as LayerStates['stats'] },
    });
  } catch (err) {
    warn(step, err);
  } finally {
    sampling = false;
  }
}

const SAMPLE_TOKENS = 24;

/** The probe and sampler are made from the shadow: freed with it. */
onModelOrShadowReplaced(() => {
  if (probe) destroyShadowWorkspace(probe.shadow.gpu, probe.ws);
  sampler?.stepper.release();
  probe = null;
  sampler = null;
});

function warn(step: number, err: unknown): void {
  const info = err instanceof StudioError ? { code: err.code, message: err.message, hint: err.hint } : { code: 'E000', message: String(err), hint: '' };
  session.emit({ type: 'train-warning', step, error: info });
}

/** Starts a run, or resumes one from a checkpoint; returns once it is running (events report the rest). */
export async function train(settings: TrainingSettings, resumeFrom?: string): Promise<void> {
  if (run || session.training) throw new StudioError('E505', 'a training run is already in progress', 'stop it first, or pause and resume it');
  const { model: base, tokenizer, source } = requireModel();
  const data = requireDataset();
  const checkpoints = await checkpointStore();
  const ck = resumeFrom ? await checkpoints.loadCheckpoint(resumeFrom) : null;
  // A resumed run takes everything from its checkpoint (the explicit shadow's weights included).
  const explicit = ck ? null : await explicitOf(settings);
  const config = ck ? ck.manifest.config : configOf(settings, explicit?.explicit ?? null);
  assertTrainable({ ...data, issues: data.summary.issues });
  const controller = new TrainController();
  const totalSteps = planRun(config, data).totalSteps;
  const setUp = (starting = { stopRequested: false });
  const parts = await createRun({
    base,
    config,
    data: { train: data.train, validation: data.validation, padId: resolvePadId(tokenizer, base.config.vocabSize), fingerprint: data.summary.fingerprint },
    resumeFrom: ck ? { checkpoint: ck, baseModelId: source.id } : undefined,
    explicitSource: explicit?.source,
    onShadowLoadProgress: (p) => session.emit({ type: 'shadow-load-progress', ...p }),
    controller,
    checkpoints: { store: checkpoints, runId: ck?.manifest.runId ?? `run-${Date.now().toString(36)}` },
    onEvent: (e) => forward(e, totalSteps),
  }).finally(() => (starting = null));
  try {
    setShadow(parts.model);
  } catch (e) {
    parts.release();
    parts.model.destroy();
    throw e;
  }
  session.training = true;
  // Stop pressed while the run was being set up: it ends before its first step (its buffers freed below).
  if (setUp.stopRequested) controller.stop();
  session.emit({ type: 'train-status', status: 'running' });
  const done = parts.trainer.run().then(
    (r) => {
      // Ended by the device loss (a paused run is stopped then): the run failed, it did not stop.
      const lost = r.reason === 'stopped' ? parts.model.gpu.lostError() : null;
      if (lost) session.emit({ type: 'train-status', status: 'error', error: { code: lost.code, message: lost.message, hint: lost.hint } });
      else session.emit({ type: 'train-status', status: r.reason === 'stopped' ? 'stopped' : 'done', reason: r.reason });
    },
    (err: unknown) => {
      const info = err instanceof StudioError ? { code: err.code, message: err.message, hint: err.hint } : { code: 'E000', message: String(err), hint: 'this is a bug in the studio; please report it' };
      if (!(err instanceof StudioError)) console.error('training failed with an uncoded error', err);
      session.emit({ type: 'train-status', status: 'error', error: info });
    },
  ).finally(() => {
    // The optimizer and workspace go with the run; the trained adapter stays for the Playground and export.
    parts.release();
    session.training = false;
    run = null;
  });
  run = { parts, controller, config, totalSteps, done };
}

/** A lost device ends the run (a paused one would wait forever); the loss waits for its end. */
onDeviceLost(async () => {
  const r = run;
  if (!r) return;
  r.controller.stop();
  await r.done;
});

export async function pause(): Promise<void> {
  run?.controller.pause();
}

export async function resume(): Promise<void> {
  if (!run) throw new StudioError('E506', 'no paused run in this session', 'after a reload, resume from a checkpoint on the Train or Adapters screen');
  run.controller.resume();
  session.emit({ type: 'train-status', status: 'running' });
}

export async function cancelEvaluation(): Promise<void> {
  run?.controller.cancelEvaluation();
}

export async function stop(): Promise<void> {
  if (starting) starting.stopRequested = true;
  if (!run) return;
  const r = run;
  r.controller.stop();
  await r.done;
}

/** Batches of the evaluate command (no run settings apply to it). */
const EVAL_BATCH = 4;

export async function evaluate(): Promise<{ valLoss: number; perplexity: number }> {
  const data = requireDataset();
  if (!session.shadow) throw new StudioError('E503', 'no shadow adapter exists yet', 'train one, or import an adapter');
  if (data.validation.length === 0) throw new StudioError('E507', 'the dataset has no validation split', 'set a validation fraction above 0 on the Data screen');
  const { tokenizer } = requireModel();
  const shadow = session.shadow;
  const V = shadow.base.config.vocabSize;
  const padId = resolvePadId(tokenizer, V);
  const batches = [];
  for (let i = 0; i < data.validation.length; i += EVAL_BATCH) batches.push(prepareBatch(data.validation.slice(i, i + EVAL_BATCH), padId, V));
  const ws = await shadow.createWorkspace(EVAL_BATCH, longestSequence(data.validation));
  try {
    const r = await evaluateSet(shadow, ws, batches);
    return { valLoss: r.loss, perplexity: r.perplexity };
  } finally {
    destroyShadowWorkspace(shadow.gpu, ws);
  }
}

/**
 * Estimates one at a time: two measuring at once would each time the other's GPU work too. One that a
 * newer request has overtaken while it waited answers without measuring (the screen shows the newest).
 */
let estimating: Promise<unknown> = Promise.resolve();
let estimateRequests = 0;

/** The run set-up's own estimate (src/train/estimate.ts) of the settings as train() would run them. */
export function estimate(settings: TrainingSettings): Promise<Estimate> {
  const request = ++estimateRequests;
  const next = estimating.then(() => estimateNow(settings, request === estimateRequests));
  estimating = next.catch(() => undefined);
  return next;
}

async function estimateNow(settings: TrainingSettings, newest: boolean): Promise<Estimate> {
  const { model: base, tokenizer } = requireModel();
  const data = requireDataset();
  const config = configOf(settings, (await explicitOf(settings))?.explicit ?? null);
  // While a run trains, the GPU is its own: the time stays unknown, the memory figures are exact.
  const e = await estimateRun({ base, config, data, padId: resolvePadId(tokenizer, base.config.vocabSize), measure: !run && newest });
  return { ...e, msPerEpoch: e.msPerStep === null ? null : e.msPerStep * e.stepsPerEpoch };
}

export async function listCheckpoints(): Promise<CheckpointInfo[]> {
  const { complete: list, skipped } = await (await checkpointStore()).inventory();
  // never offered: a checkpoint that is not whole (removed from storage by the listing)
  for (const s of skipped) console.warn(`E306 checkpoint ${s.id} left out: ${s.reason}`);
  return list.map((m) => ({
    id: m.id,
    runId: m.runId,
    step: m.step,
    // the fractional epoch the Train screen showed for this step (not the cursor's whole epochs)
    epoch: epochOfProgress(m.progress, session.dataset?.summary.fingerprint === m.datasetFingerprint ? session.dataset.train.length : null),
    loss: m.progress.history.length ? m.progress.history[m.progress.history.length - 1]!.loss : null,
    bytes: m.bytes,
    createdAt: Date.parse(m.createdAt),
    baseModel: m.baseModel.id,
  }));
}

export async function deleteCheckpoint(id: string): Promise<void> {
  await (await checkpointStore()).deleteCheckpoint(id);
}

/** A stored checkpoint's adapter as the two official files, without resuming it (a running run is left alone). */
export async function exportCheckpoint(id: string, dtype: 'F32' | 'BF16'): Promise<AdapterFilesPayload> {
  const { gpu, model } = requireModel();
  const ck = await (await checkpointStore()).loadCheckpoint(id);
  const files = checkpointAdapterFiles(ck, model.config, gpu.caps.limits.maxStorageBufferBindingSize, dtype);
  return { configJson: files.configJson, safetensors: files.safetensors.slice().buffer };
}
