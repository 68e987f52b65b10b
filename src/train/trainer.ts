import { GpuErrorCode, StudioError } from '../engine/errors';
import type { ShadowOptimizer } from '../shadow/optimizer';
import type { ShadowPeftModel, ShadowWorkspace } from '../shadow/shadowModel';
import type { DropoutStep } from '../shadow/slotOps';
import { accumulateGradients } from './accumulate';
import { captureCheckpoint } from './checkpointState';
import type { CheckpointStore } from './checkpoints';
import { TrainController } from './controller';
import { canonicalJson } from './data/fingerprint';
import type { TokenizedExample } from './data/types';
import { TrainErrorCode } from './errors';
import { evaluate } from './evaluate';
import type { DoneReason, TrainEvent } from './events';
import type { PreparedBatch } from './prepareBatch';
import { prepareBatch } from './prepareBatch';
import type { TrainProgress } from './progress';
import { cloneProgress, initialProgress, recordEval } from './progress';
import type { RunConfig } from './runConfig';
import { validateRunConfig } from './runConfig';
import type { ScheduleState } from './schedule';
import { learningRate, scheduleState } from './schedule';
import { plannedSteps, planRun, StepPlanner } from './stepPlan';
import { destroyShadowWorkspace } from '../shadow/shadowWorkspace';

/** The loop pauses itself after this many skipped (non-finite) steps in a row. */
export const NON_FINITE_PAUSE_AFTER = 3;

/** Tokenized data of a run (from src/train/data). */
export interface TrainData {
  train: readonly TokenizedExample[];
  validation: readonly TokenizedExample[];
  /** token id written into padding (never attended to, never a target) */
  padId: number;
  /** identifies the file and every option that built the examples; checkpoints refuse another */
  fingerprint: string;
}

export interface TrainerOptions {
  model: ShadowPeftModel;
  optimizer: ShadowOptimizer;
  config: RunConfig;
  data: TrainData;
  onEvent?: (e: TrainEvent) => void;
  controller?: TrainController;
  /** where periodic (and requested) checkpoints go; without it none is saved */
  checkpoints?: { store: CheckpointStore; runId: string };
  /** progress of a checkpoint whose tensors restoreCheckpoint already wrote into model and optimizer */
  resume?: TrainProgress;
  /** test hook: runs once a step's gradients are complete, before the optimizer reads them */
  beforeOptimizerStep?: (step: number) => void | Promise<void>;
}

export interface TrainResult {
  reason: DoneReason;
  progress: TrainProgress;
}

/**
 * The training loop: for every optimizer step, gradient accumulation over micro-batches weighted to
 * equal one batch, AdamW at the schedule's learning rate with clipping and the non-finite guard,
 * then evaluation, early stopping and checkpoints when due. Deterministic from (config, data,
 * progress): data order from (seed, cursor), dropout masks from (seed, optimizer step, micro-batch),
 * so a run resumed from a checkpoint repeats the uninterrupted run's losses exactly.
 */
export class Trainer {
  private readonly progressState: TrainProgress;
  private readonly planner: StepPlanner;
  private running = false;
  /** an evaluation interrupted by a pause: it runs first when training resumes */
  private evaluationPending = false;

  private constructor(
    private readonly opts: TrainerOptions,
    readonly controller: TrainController,
    readonly schedule: ScheduleState,
    private readonly ws: ShadowWorkspace,
    private readonly validation: PreparedBatch[],
    progress: TrainProgress,
  ) {
    this.progressState = progress;
    this.planner = new StepPlanner(opts.data.train.length, opts.config, progress.cursor);
  }

  static async create(opts: TrainerOptions): Promise<Trainer> {
    const { model, optimizer, config, data } = opts;
    validateRunConfig(config);
    if (data.train.length === 0) throw new StudioError(TrainErrorCode.noTrainingData, 'no training example is left after tokenization and the validation split', 'add data, raise maxLength, or lower the validation fraction');
    const progress = opts.resume ? cloneProgress(opts.resume) : initialProgress();
    if (progress.step !== optimizer.step) {
      throw new StudioError(TrainErrorCode.trainerState, `the progress is at step ${progress.step} but the optimizer at step ${optimizer.step}`, 'restore the checkpoint (restoreCheckpoint) before resuming from its progress');
    }
    if (canonicalJson(config.shadow) !== canonicalJson(model.config) || canonicalJson(config.explicitShadow ?? null) !== canonicalJson(model.explicit)) {
      throw new StudioError(TrainErrorCode.trainerState, 'the run configuration’s shadow config differs from the model’s', 'create the model with ShadowPeftModel.create(base, config.shadow, config.seed, config.explicitShadow)');
    }
    // The workspace fits every micro-batch of the plan; shorter ones run in it unpadded.
    const { B, T } = planRun(config, data).workspace;
    const ws = await model.createWorkspace(B, T);
    const V = model.base.config.vocabSize;
    // An evaluation scores the first evalBatches batches: the same examples every time, so evaluations compare.
    const validation: PreparedBatch[] = [];
    const scored = config.evalBatches == null ? data.validation.length : Math.min(data.validation.length, config.evalBatches * config.microBatchSize);
    for (let i = 0; i < scored; i += config.microBatchSize) validation.push(prepareBatch(data.validation.slice(i, Math.min(i + config.microBatchSize, scored)), data.padId, V));
    const schedule = scheduleState({ kind: config.schedule, peakLr: config.learningRate, totalSteps: plannedSteps(config, data.train.length), warmupRatio: config.warmupRatio });
    return new Trainer(opts, opts.controller ?? new TrainController(), schedule, ws, validation, progress);
  }

  /** Frees the trainer's workspace (the model and optimizer are the caller's); the trainer is unusable afterwards. */
  release(): void {
    if (this.running) throw new StudioError(TrainErrorCode.trainerState, 'a running trainer cannot be released', 'stop the run and wait for it to end first');
    destroyShadowWorkspace(this.opts.model.gpu, this.ws);
  }

  /** A copy of where the run is. */
  get progress(): TrainProgress {
    return cloneProgress(this.progressState);
  }

  /** Runs until the data (or maxSteps) is done, early stopping, or controller.stop(). */
  async run(): Promise<TrainResult> {
    if (this.running) throw new StudioError(TrainErrorCode.trainerState, 'this trainer is already running', 'create one trainer per run');
    this.running = true;
    try {
      for (;;) {
        const ctl = this.controller;
        if (ctl.state === 'stopping') return this.finish('stopped');
        if (ctl.state === 'paused') {
          await this.pauseUntilResumed('user');
          continue;
        }
        if (this.evaluationPending) {
          if (await this.evaluateNow()) return this.finish('early-stopped');
          continue;
        }
        if (this.dataDone()) {
          await this.finalEvaluation();
          return this.finish('completed');
        }
        if (await this.trainStep()) return this.finish('early-stopped');
      }
    } finally {
      this.running = false;
    }
  }

  /** Saves a checkpoint of the current state (between steps, e.g. while paused). Returns its id. */
  async saveCheckpoint(): Promise<string> {
    const target = this.opts.checkpoints;
    if (!target) throw new StudioError(TrainErrorCode.trainerState, 'this trainer has no checkpoint store', 'pass checkpoints: { store, runId }');
    const { model, optimizer, config, data } = this.opts;
    const ck = await captureCheckpoint(model, optimizer, { runId: target.runId, config, datasetFingerprint: data.fingerprint, schedule: this.schedule, progress: this.progressState });
    const id = await target.store.saveCheckpoint(ck, config.keepCheckpoints);
    this.emit({ type: 'checkpoint', step: optimizer.step, id });
    return id;
  }

  private emit(e: TrainEvent): void {
    this.opts.onEvent?.(e);
  }

  private dataDone(): boolean {
    const { config, optimizer } = this.opts;
    return config.maxSteps !== null ? optimizer.step >= config.maxSteps : this.progressState.cursor.epoch >= config.epochs;
  }

  /** Dropout is keyed by the run seed and the micro-step (optimizer step · accumulation + micro-batch). */
  private dropoutFor(microIndex: number): DropoutStep | null {
    const { config, model, optimizer } = this.opts;
    if (!config.dropout || model.config.dropout === 0) return null;
    return { seed: config.seed, step: optimizer.step * config.gradientAccumulationSteps + microIndex };
  }

  /** One optimizer step (or a skipped one). Returns true when early stopping ends the run. */
  private async trainStep(): Promise<boolean> {
    const { model, optimizer, config, data } = this.opts;
    const p = this.progressState;
    const t0 = performance.now();
    const attempted = optimizer.step + 1;
    const V = model.base.config.vocabSize;
    const micro = this.planner.next().map((b) => prepareBatch(b.indices.map((i) => data.train[i]!), data.padId, V));
    const losses = await accumulateGradients(model, this.ws, micro, config.shadowLossWeight, (i) => this.dropoutFor(i), () => this.holdBetweenMicroBatches());
    if (!losses) {
      // Stopped inside the step: nothing of it is applied, and the progress (what checkpoints save) keeps
      // the cursor of the last whole step; the run loop ends next.
      return false;
    }
    p.cursor = this.planner.cursor;
    if (losses.supervised === 0) {
      p.elapsedMs += performance.now() - t0;
      await this.skip(attempted, 'no supervised token in this step’s batches');
      return false;
    }
    await this.opts.beforeOptimizerStep?.(attempted);
    const lr = learningRate(this.schedule, optimizer.step);
    const report = await optimizer.apply({ lr, beta1: config.betas[0], beta2: config.betas[1], eps: config.eps, weightDecay: config.weightDecay }, config.maxGradNorm ?? undefined);
    const stepMs = performance.now() - t0;
    p.elapsedMs += stepMs;
    if (report.skipped) {
      await this.skip(attempted, `non-finite gradient (norm ${report.gradNorm}); parameters and moments left unchanged`);
      return false;
    }
    p.consecutiveSkips = 0;
    p.step = optimizer.step;
    const epoch = this.planner.epochsDone;
    p.history.push({ step: p.step, epoch, loss: losses.loss, baseLoss: losses.baseLoss, shadowLoss: losses.shadowLoss, lr, gradNorm: report.gradNorm });
    const perStep = p.elapsedMs / Math.max(1, p.step + p.skippedSteps);
    this.emit({
      type: 'step',
      step: p.step,
      epoch,
      loss: losses.loss,
      baseLoss: losses.baseLoss,
      shadowLoss: losses.shadowLoss,
      lr,
      gradNorm: report.gradNorm,
      tokensPerSecond: losses.tokens / Math.max(stepMs / 1000, 1e-9),
      elapsedMs: p.elapsedMs,
      etaMs: perStep * Math.max(0, this.schedule.totalSteps - p.step),
      // what the runtime has allocated and not released: every buffer of the studio, not an estimate
      memoryBytes: model.gpu.allocatedBytes,
    });
    let stopEarly = false;
    if (config.evalEvery !== null && p.step % config.evalEvery === 0) stopEarly = await this.evaluateNow();
    if (config.checkpointEvery !== null && p.step % config.checkpointEvery === 0 && this.opts.checkpoints) await this.periodicCheckpoint();
    return stopEarly;
  }

  /** Between two micro-batches of a step: a pause waits here (gradients kept); false when the run is stopping. */
  private async holdBetweenMicroBatches(): Promise<boolean> {
    if (this.controller.state === 'paused') await this.pauseUntilResumed('user');
    return this.controller.state !== 'stopping';
  }

  private async skip(step: number, reason: string): Promise<void> {
    const p = this.progressState;
    p.consecutiveSkips++;
    p.skippedSteps++;
    this.emit({ type: 'skipped', step, reason, consecutive: p.consecutiveSkips });
    if (p.consecutiveSkips >= NON_FINITE_PAUSE_AFTER) {
      p.consecutiveSkips = 0; // resuming grants another NON_FINITE_PAUSE_AFTER tries
      this.controller.pause();
      await this.pauseUntilResumed('non-finite');
    }
  }

  private async pauseUntilResumed(reason: 'user' | 'non-finite'): Promise<void> {
    if (this.controller.state !== 'paused') return;
    this.emit({ type: 'paused', step: this.opts.optimizer.step, reason });
    await this.controller.waitWhilePaused();
  }

  /** Evaluates, records, updates early stopping. Returns true when patience is used up. */
  private async evaluateNow(): Promise<boolean> {
    this.evaluationPending = false;
    if (this.validation.length === 0) return false;
    const p = this.progressState;
    const ctl = this.controller;
    const t0 = performance.now();
    ctl.takeEvaluationCancel(); // a cancel pressed before this evaluation began is not for it
    let reason: 'cancelled' | 'paused' | 'stopped' | null = null;
    const r = await evaluate(this.opts.model, this.ws, this.validation, {
      onProgress: (done, total) => this.emit({ type: 'eval-progress', step: p.step, done, total }),
      cancelled: () => {
        if (ctl.takeEvaluationCancel()) reason = 'cancelled';
        else if (ctl.state === 'paused') reason = 'paused';
        else if (ctl.state === 'stopping') reason = 'stopped';
        return reason !== null;
      },
    });
    p.elapsedMs += performance.now() - t0;
    if (r.cancelled) {
      // Interrupted by a pause it runs again on resume; cancelled or stopped it is dropped (no record).
      this.evaluationPending = reason === 'paused';
      this.emit({ type: 'eval-cancelled', step: p.step, reason: reason ?? 'cancelled' });
      return false;
    }
    const record = { step: p.step, valLoss: r.loss, perplexity: r.perplexity, shadowValLoss: r.shadowLoss };
    this.emit({ type: 'eval', ...record });
    return recordEval(p, record, this.opts.config.earlyStoppingPatience);
  }

  /** The end of the data: one more evaluation unless the last step was just evaluated. */
  private async finalEvaluation(): Promise<void> {
    const p = this.progressState;
    if (this.opts.config.evalEvery === null || p.step === 0 || p.evals.at(-1)?.step === p.step) return;
    await this.evaluateNow();
  }

  /** A failed periodic checkpoint (full storage, non-finite adapter) is reported and training goes on; a lost device ends the run. */
  private async periodicCheckpoint(): Promise<void> {
    try {
      await this.saveCheckpoint();
    } catch (e) {
      if (!(e instanceof StudioError) || e.code === GpuErrorCode.deviceLost) throw e;
      this.emit({ type: 'checkpoint-error', step: this.opts.optimizer.step, code: e.code, message: e.message, hint: e.hint });
    }
  }

  private finish(reason: DoneReason): TrainResult {
    const p = this.progressState;
    this.emit({ type: 'done', reason, step: p.step, bestValLoss: p.bestValLoss, bestStep: p.bestStep });
    return { reason, progress: this.progress };
  }
}
