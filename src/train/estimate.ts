/**
 * What a run will cost before it starts: GPU memory from the allocators' own size tables, the
 * adapter's size, and the time of one measured micro-batch and one evaluation batch, on the same
 * workspace shape the run will use (planRun), so that what the estimate measures is what runs.
 */
import { GpuErrorCode, StudioError } from '../engine/errors';
import { numel } from '../engine/tensor';
import type { CausalLM } from '../model/causalLM';
import { estimateMemory, plannedBytes } from '../model/memory';
import { baseArchitectureOf, resolveShadowOn } from '../shadow/fromModel';
import { loraEquivalentRank, shadowParamBreakdown } from '../shadow/paramCount';
import { gpuParamSpecs } from '../shadow/shadowParams';
import { ShadowPeftModel } from '../shadow/shadowModel';
import type { ShadowWorkspace } from '../shadow/shadowModel';
import { destroyShadowWorkspace, shadowWorkspaceSizes } from '../shadow/shadowWorkspace';
import type { TokenizedExample } from './data/types';
import { evaluate } from './evaluate';
import { prepareBatch } from './prepareBatch';
import type { RunConfig } from './runConfig';
import { planRun, StepPlanner } from './stepPlan';

export interface RunEstimate {
  memory: { weights: number; adapter: number; activations: number; total: number };
  /** browser storage of one checkpoint (adapter + AdamW moments, f32) */
  checkpointBytes: number;
  trainableParameters: number;
  /** the LoRA rank (q, k, v, o) with the same parameter budget */
  loraEquivalentRank: number;
  tokensPerEpoch: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** evaluations the run will make (every evalEvery steps, and once at the end) */
  evaluations: number;
  /** one optimizer step (micro-batch time × accumulation), measured; null when not measured */
  msPerStep: number | null;
  /** one pass over the validation set, measured; null when not measured or there is none */
  msPerEvaluation: number | null;
  /** every step and every evaluation */
  msTotal: number | null;
}

export interface EstimateOptions {
  base: CausalLM;
  config: RunConfig;
  data: { train: readonly TokenizedExample[]; validation: readonly TokenizedExample[] };
  padId: number;
  /** time a real micro-batch (false while a run is using the GPU) */
  measure: boolean;
}

/** Evaluations of a run of `totalSteps` (as Trainer runs them: every evalEvery steps, then at the end). */
export function plannedEvaluations(totalSteps: number, evalEvery: number | null, hasValidation: boolean): number {
  if (evalEvery === null || !hasValidation || totalSteps === 0) return 0;
  return Math.floor(totalSteps / evalEvery) + (totalSteps % evalEvery === 0 ? 0 : 1);
}

export async function estimateRun(opts: EstimateOptions): Promise<RunEstimate> {
  const { base, config, data } = opts;
  const gpu = base.gpu;
  const plan = planRun(config, data);
  const { B, T } = plan.workspace;
  const resolved = resolveShadowOn(config.shadow, base.config, config.explicitShadow ?? null);
  const trainable = shadowParamBreakdown(resolved).total;
  const caps = { limits: gpu.caps.limits, features: gpu.caps.features };
  const mem = estimateMemory(base.config, caps, { B, T, training: true, storage: base.weights.storage });
  // The adapter's tensors four times (parameters, gradients, two Adam moments, all f32; frozen
  // embeddings have parameters only) and what the ShadowPEFT workspace adds to the base's.
  const specs = gpuParamSpecs(resolved, caps.limits.maxStorageBufferBindingSize);
  const entries = (list: typeof specs) => list.map((s) => ({ name: s.name, shape: s.shape, dtype: 'f32' as const }));
  const adapter = plannedBytes(entries(specs), caps) + 3 * plannedBytes(entries(specs.filter((s) => s.trainable)), caps);
  const shadowActivations = plannedBytes(shadowWorkspaceSizes(resolved, B, T), caps);
  const evaluations = plannedEvaluations(plan.totalSteps, config.evalEvery, data.validation.length > 0);
  const timing = opts.measure ? await measure(opts, B, T) : null;
  // One measured batch, scaled to the run's average batch: a micro-batch costs about its padded tokens.
  const msPerMicroBatch = timing ? (timing.msPerMicroBatch * meanPaddedTokens(config, data.train)) / timing.paddedTokens : null;
  const msPerStep = msPerMicroBatch === null ? null : msPerMicroBatch * config.gradientAccumulationSteps;
  const msPerEvaluation = timing?.msPerEvalBatch != null ? timing.msPerEvalBatch * plan.validationBatches : null;
  return {
    memory: { weights: mem.weights, adapter, activations: mem.activations + mem.lossHead + shadowActivations, total: mem.total + adapter + shadowActivations },
    // as captureCheckpoint stores it: every parameter, and m and v of the trained ones
    checkpointBytes: specs.reduce((sum, s) => sum + numel(s.shape) * 4 * (s.trainable ? 3 : 1), 0),
    trainableParameters: trainable,
    loraEquivalentRank: loraEquivalentRank(baseArchitectureOf(base.config), trainable),
    tokensPerEpoch: plan.tokensPerEpoch,
    stepsPerEpoch: plan.stepsPerEpoch,
    totalSteps: plan.totalSteps,
    evaluations,
    msPerStep,
    msPerEvaluation,
    msTotal: msPerStep === null ? null : msPerStep * plan.totalSteps + (msPerEvaluation ?? 0) * evaluations,
  };
}

/**
 * One training micro-batch and one evaluation batch, each timed after a first run that compiles its
 * pipelines. Timing only: zeros run exactly as fast as trained values, so the adapter is not
 * initialised. Everything is freed before it returns. A shape too big to try leaves the time unknown
 * (the memory figures say why).
 */
/**
 * Padded tokens (rows × the longest row) of the run's micro-batches, averaged over its first epoch in the
 * run's own seeded order: what a micro-batch costs, to scale the one measured batch by.
 */
function meanPaddedTokens(config: RunConfig, train: readonly TokenizedExample[]): number {
  if (train.length === 0) return 1;
  const planner = new StepPlanner(train.length, config);
  let sum = 0;
  let batches = 0;
  while (planner.cursor.epoch === 0) {
    for (const b of planner.next()) {
      let longest = 0;
      for (const i of b.indices) longest = Math.max(longest, train[i]!.inputIds.length);
      sum += b.indices.length * longest;
      batches++;
    }
  }
  return batches > 0 ? sum / batches : 1;
}

async function measure(opts: EstimateOptions, B: number, T: number): Promise<{ msPerMicroBatch: number; paddedTokens: number; msPerEvalBatch: number | null } | null> {
  const { base, config, data, padId } = opts;
  let shadow: ShadowPeftModel | null = null;
  let ws: ShadowWorkspace | null = null;
  try {
    shadow = await ShadowPeftModel.create(base, config.shadow, config.seed, config.explicitShadow ?? null, { initialize: false });
    ws = await shadow.createWorkspace(B, T);
    const V = base.config.vocabSize;
    const b = prepareBatch(data.train.slice(0, B), padId, V);
    const micro = async () => {
      const t0 = performance.now();
      await shadow!.forwardBackward(ws!, b.batch, b.labels, config.shadowLossWeight, null, { readLosses: true });
      return performance.now() - t0;
    };
    await micro();
    const msPerMicroBatch = await micro();
    let msPerEvalBatch: number | null = null;
    if (data.validation.length > 0) {
      const v = [prepareBatch(data.validation.slice(0, B), padId, V)];
      await evaluate(shadow, ws, v);
      const t0 = performance.now();
      await evaluate(shadow, ws, v);
      msPerEvalBatch = performance.now() - t0;
    }
    return { msPerMicroBatch, paddedTokens: b.batch.B * b.batch.T, msPerEvalBatch };
  } catch (e) {
    if (!(e instanceof StudioError && (e.code === GpuErrorCode.outOfMemory || e.code === GpuErrorCode.tooLarge))) throw e;
    return null;
  } finally {
    if (ws) destroyShadowWorkspace(base.gpu, ws);
    shadow?.destroy();
  }
}
