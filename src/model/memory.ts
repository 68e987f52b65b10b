/**
 * Memory estimate before loading, from the same size tables the allocators read: weightSpecs (frozen
 * weights, in the storage chooseStorage picks), layerWorkspaceSizes (one layer's scratch), the model
 * workspace and residual stream of CausalLM.createWorkspace, the loss head's chunked scratch, and the
 * KV cache of generation. checkFits turns it into a coded refusal that says what would fit.
 */
import { Arena } from '../engine/arena';
import type { Capabilities } from '../engine/device';
import type { DType, WeightStorage } from '../engine/dtype';
import { byteSize } from '../engine/dtype';
import { GpuErrorCode, StudioError } from '../engine/errors';
import { crossEntropyChunkRows } from '../engine/kernels/crossentropy/crossentropy';
import { rmsnormScratchElements } from '../engine/kernels/rmsnorm/rmsnorm';
import { formatBytes } from '../engine/runtime';
import { numel } from '../engine/tensor';
import type { ModelConfig } from './config';
import { ModelErrorCode } from './errors';
import { MAX_MODEL_BYTES } from './limits';
import { layerDimsOf } from './layerDims';
import { layerWorkspaceSizes } from './layerWorkspace';
import type { StorageChoice } from './loadWeights';
import { chooseStorage } from './loadWeights';
import { CE_BUDGET_BYTES } from './lossHead';
import type { SafetensorsDtype } from './safetensors/parse';
import { isMatrixWeight, isRowSplittable, weightSpecs } from './weights';

/** The device facts the estimate needs; a full Capabilities object fits. */
export interface MemoryCaps {
  limits: Pick<Capabilities['limits'], 'maxStorageBufferBindingSize' | 'maxBufferSize' | 'minStorageBufferOffsetAlignment'>;
  features: Pick<Capabilities['features'], 'shaderF16'>;
  memoryBytes?: Capabilities['memoryBytes'];
}

/** What will run: a batch of B sequences of T tokens, with or without backward, with or without a KV cache. */
export interface MemoryPlan {
  B: number;
  T: number;
  /** Backward workspace, residual stream (L+1)·(N, C), dx, and the loss head's dh. */
  training: boolean;
  /** Generation: tokens the KV cache holds per sequence (prompt + new tokens). Omitted: no cache. */
  maxT?: number;
  /** Whether the loss head is allocated (default: when training). */
  lossHead?: boolean;
  storage?: StorageChoice;
  /** Default: from config.torchDtype, as published. */
  checkpointDtype?: SafetensorsDtype;
}

export interface MemoryEstimate {
  plan: MemoryPlan;
  storage: WeightStorage;
  /** Bytes, each aligned like Arena.plannedBytes. */
  weights: number;
  activations: number;
  kvCache: number;
  lossHead: number;
  total: number;
  /** The tensor that must fit one storage binding. */
  largestTensor: { name: string; bytes: number };
}

/** A device memory budget. Without deviceMemoryBytes only the per-tensor limits are checked. */
export interface MemoryBudget {
  deviceMemoryBytes?: number;
  /** Share of deviceMemoryBytes the plan may take (default 0.8: the browser and driver need some). */
  fraction?: number;
}

/** One tensor of a size table: what an allocator creates, and what the memory estimate counts. */
export interface SizeEntry {
  name: string;
  shape: readonly number[];
  dtype: DType;
}

/** Size table of CausalLM.createWorkspace besides the layer workspace (names as allocated). */
export function modelWorkspaceSizes(c: ModelConfig, B: number, T: number, withBackward: boolean): SizeEntry[] {
  const N = B * T;
  const C = c.hiddenSize;
  const entries: SizeEntry[] = [
    { name: 'rope.inv_freq', shape: [c.headDim / 2], dtype: 'f32' },
    { name: 'batch.ids', shape: [N], dtype: 'u32' },
    { name: 'batch.positions', shape: [N], dtype: 'u32' },
    { name: 'batch.mask', shape: [N], dtype: 'u32' },
    { name: 'x', shape: [N, C], dtype: 'f32' },
    { name: 'h', shape: [N, C], dtype: 'f32' },
  ];
  if (withBackward) {
    entries.push({ name: 'dx', shape: [N, C], dtype: 'f32' });
    for (let i = 0; i <= c.numLayers; i++) entries.push({ name: `residual.${i}`, shape: [N, C], dtype: 'f32' });
    entries.push({ name: 'norm.scratch', shape: [rmsnormScratchElements(N, C)], dtype: 'f32' }, { name: 'norm.frozenDw', shape: [C], dtype: 'f32' });
  }
  return entries;
}

/** Size table of LossHead.create(maxRows = N) plus the caller's dh (N, C) when training. */
export function lossHeadSizes(c: ModelConfig, N: number, caps: MemoryCaps, withGrad: boolean): SizeEntry[] {
  const C = c.hiddenSize;
  const V = c.vocabSize;
  const chunkRows = crossEntropyChunkRows({ N, C, V, budgetBytes: CE_BUDGET_BYTES, maxBindingBytes: caps.limits.maxStorageBufferBindingSize, offsetAlignment: caps.limits.minStorageBufferOffsetAlignment });
  const entries: SizeEntry[] = [
    { name: 'ce-logits', shape: [chunkRows, V], dtype: 'f32' },
    { name: 'ce-rows', shape: [chunkRows, C], dtype: 'f32' },
    { name: 'ce.targets', shape: [N], dtype: 'i32' },
    { name: 'ce.lossPerRow', shape: [N], dtype: 'f32' },
    { name: 'ce.loss', shape: [1], dtype: 'f32' },
  ];
  if (withGrad) entries.push({ name: 'dh', shape: [N, C], dtype: 'f32' });
  return entries;
}

/** KV cache of generation: per layer k and v (B, maxT, NKV, HS) f32. */
export function kvCacheSizes(c: ModelConfig, B: number, maxT: number): SizeEntry[] {
  const entries: SizeEntry[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    for (const kv of ['k', 'v']) entries.push({ name: `kv.${l}.${kv}`, shape: [B, maxT, c.numKvHeads, c.headDim], dtype: 'f32' });
  }
  return entries;
}

/** The checkpoint dtype config.json announces; what the loader will find in the first matrix. */
export function checkpointDtypeOf(c: ModelConfig): SafetensorsDtype {
  if (c.torchDtype === 'bfloat16') return 'BF16';
  if (c.torchDtype === 'float16') return 'F16';
  return 'F32';
}

/** Bytes of a size table as the allocator lays it out (each tensor on the storage-offset alignment). */
export function plannedBytes(entries: readonly SizeEntry[], caps: MemoryCaps): number {
  return entries.reduce((arena, e) => arena.add(e.name, e.shape, e.dtype), new Arena('estimate')).plannedBytes(caps.limits.minStorageBufferOffsetAlignment);
}

export function estimateMemory(config: ModelConfig, caps: MemoryCaps, plan: MemoryPlan): MemoryEstimate {
  const { B, T, training } = plan;
  for (const [key, v] of [['B', B], ['T', T], ['maxT', plan.maxT ?? 1]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new StudioError(GpuErrorCode.badArgument, `memory estimate: ${key} must be a positive integer, got ${v}`);
  }
  const storage = chooseStorage(plan.storage ?? 'auto', plan.checkpointDtype ?? checkpointDtypeOf(config), caps.features.shaderF16);
  // Exactly the arena loadWeights builds: matrices in the weight storage, 1-D weights f32.
  const weightEntries = weightSpecs(config).map((s) => ({ name: s.name, shape: s.shape, dtype: isMatrixWeight(s) ? storage : ('f32' as DType) }));
  const layerEntries = layerWorkspaceSizes(layerDimsOf(config), B, T, training).map((e) => ({ name: `layer.${e.name}`, shape: e.shape, dtype: 'f32' as DType }));
  const activationEntries = [...layerEntries, ...modelWorkspaceSizes(config, B, T, training)];
  const headEntries = (plan.lossHead ?? training) ? lossHeadSizes(config, B * T, caps, training) : [];
  const kvEntries = plan.maxT !== undefined ? kvCacheSizes(config, B, plan.maxT) : [];

  const planned = (entries: SizeEntry[]) => plannedBytes(entries, caps);
  const weights = planned(weightEntries);
  const activations = planned(activationEntries);
  const lossHead = planned(headEntries);
  const kvCache = planned(kvEntries);

  let largestTensor = { name: '', bytes: 0 };
  for (const e of [...weightEntries, ...activationEntries, ...headEntries, ...kvEntries]) {
    // The embedding and head are split by rows when one binding cannot hold them.
    if (isRowSplittable(e.name)) continue;
    const bytes = byteSize(e.dtype, numel(e.shape));
    if (bytes > largestTensor.bytes) largestTensor = { name: e.name, bytes };
  }
  return { plan, storage, weights, activations, kvCache, lossHead, total: weights + activations + kvCache + lossHead, largestTensor };
}

/** One tensor must fit both one buffer and one storage binding. */
export function perTensorLimit(caps: MemoryCaps): number {
  return Math.min(caps.limits.maxStorageBufferBindingSize, caps.limits.maxBufferSize);
}

export function budgetBytes(budget: MemoryBudget = {}): number | null {
  return budget.deviceMemoryBytes === undefined ? null : Math.floor(budget.deviceMemoryBytes * (budget.fraction ?? 0.8));
}

export function estimateFits(e: MemoryEstimate, caps: MemoryCaps, budget: MemoryBudget = {}): boolean {
  const total = budgetBytes(budget);
  return e.largestTensor.bytes <= perTensorLimit(caps) && (total === null || e.total <= total);
}

/**
 * The plan with another sequence length. With a KV cache the number of new tokens stays the same
 * (maxT − T), so a shorter T means a shorter prompt.
 */
function withT(plan: MemoryPlan, T: number): MemoryPlan {
  return { ...plan, T, maxT: plan.maxT === undefined ? undefined : Math.max(T, plan.maxT - plan.T + T) };
}

/**
 * Largest x in [lo, hi] with fits(x), by bisection. The returned value was itself checked, so it
 * always fits (the estimate is monotone in B and T up to the loss head's chunk rounding).
 */
function largestFitting(lo: number, hi: number, fits: (x: number) => boolean): number | null {
  if (hi < lo || !fits(lo)) return null;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface FitSuggestion {
  /** Largest T that fits with the plan's B (null: none). */
  maxT: number | null;
  /** Largest B that fits with the plan's T (null: none). */
  maxB: number | null;
  /** Largest T that fits with B = 1, when neither of the above exists. */
  maxTAtB1: number | null;
}

/** What would fit on this device, searched over the same estimate. */
export function fitSuggestion(config: ModelConfig, caps: MemoryCaps, plan: MemoryPlan, budget: MemoryBudget = {}): FitSuggestion {
  const fitsAt = (p: MemoryPlan) => estimateFits(estimateMemory(config, caps, p), caps, budget);
  const maxT = largestFitting(1, plan.T, (t) => fitsAt(withT(plan, t)));
  const maxB = largestFitting(1, plan.B, (b) => fitsAt({ ...plan, B: b }));
  const maxTAtB1 = maxT === null && maxB === null ? largestFitting(1, plan.T, (t) => fitsAt(withT({ ...plan, B: 1 }, t))) : null;
  return { maxT, maxB, maxTAtB1 };
}

/**
 * Throws E124 (tooLargeForDevice) when the plan of `estimate` does not fit: a tensor larger than one
 * binding or buffer, or a total above the budget. The message names the limit, the breakdown and the
 * largest T (at this B) and B (at this T) that fit.
 */
export function checkFits(estimate: MemoryEstimate, caps: MemoryCaps, config: ModelConfig, B: number, T: number, budget: MemoryBudget = {}): void {
  if (estimate.plan.B !== B || estimate.plan.T !== T) {
    throw new StudioError(GpuErrorCode.badArgument, `checkFits: the estimate is for B=${estimate.plan.B}, T=${estimate.plan.T}, not B=${B}, T=${T}`);
  }
  if (estimateFits(estimate, caps, budget)) return;
  const plan = estimate.plan;
  const what = `${plan.training ? 'training' : plan.maxT !== undefined ? 'generating with' : 'running'} ${config.modelType} (${config.numLayers} layers) at B=${B}, T=${T}${plan.maxT !== undefined ? `, KV cache of ${plan.maxT} tokens` : ''}`;
  const limit = perTensorLimit(caps);
  const total = budgetBytes(budget);
  const breakdown = `weights ${formatBytes(estimate.weights)}, activations ${formatBytes(estimate.activations)}, loss head ${formatBytes(estimate.lossHead)}, KV cache ${formatBytes(estimate.kvCache)}`;
  const reason =
    estimate.largestTensor.bytes > limit
      ? `its largest tensor '${estimate.largestTensor.name}' needs ${formatBytes(estimate.largestTensor.bytes)}, more than one storage binding holds on this device (${formatBytes(limit)})`
      : `needs ${formatBytes(estimate.total)} (${breakdown}), more than the ${formatBytes(total!)} budget (${Math.round((budget.fraction ?? 0.8) * 100)}% of ${formatBytes(budget.deviceMemoryBytes!)})`;
  const fit = fitSuggestion(config, caps, plan, budget);
  const options: string[] = [];
  if (fit.maxT !== null) options.push(`T ≤ ${fit.maxT} fits at B=${B}`);
  if (fit.maxB !== null) options.push(`B ≤ ${fit.maxB} fits at T=${T}`);
  if (fit.maxTAtB1 !== null) options.push(`T ≤ ${fit.maxTAtB1} fits at B=1`);
  if (options.length) {
    throw new StudioError(ModelErrorCode.tooLargeForDevice, `${what} ${reason}; ${options.join('; ')}`, 'use a shorter sequence length or a smaller batch');
  }
  throw new StudioError(ModelErrorCode.tooLargeForDevice, `${what} ${reason}; nothing fits, not even B=1, T=1 (the weights alone take ${formatBytes(estimate.weights)} in ${estimate.storage})`, 'this GPU or browser cannot hold this model; pick a smaller model');
}

/**
 * Before a model's first buffer is created: the estimate of its weights and smallest workspace (B = 1,
 * T = 1, no backward) must fit the device's per-tensor limits, MAX_MODEL_BYTES and the budget when one
 * is known (given, or the caps' memoryBytes). Throws E124 with the estimate, so a config.json that asks for an absurd model fails in
 * milliseconds instead of allocating until the driver gives up.
 */
export function checkModelLoadable(config: ModelConfig, caps: MemoryCaps, opts: { id: string; storage?: StorageChoice; budget?: MemoryBudget }): MemoryEstimate {
  const e = estimateMemory(config, caps, { B: 1, T: 1, training: false, storage: opts.storage });
  const what = `${opts.id}: a ${config.modelType} model of ${config.numLayers} layers, hidden ${config.hiddenSize}, MLP ${config.intermediateSize}, vocabulary ${config.vocabSize} is estimated at ${formatBytes(e.total)} (weights ${formatBytes(e.weights)} in ${e.storage}, activations ${formatBytes(e.activations)})`;
  const limit = perTensorLimit(caps);
  const given = opts.budget ?? (caps.memoryBytes ? { deviceMemoryBytes: caps.memoryBytes } : undefined);
  const budget = budgetBytes(given);
  const hint = 'pick a smaller model; if this config.json was edited, restore the one the Hub serves';
  if (e.largestTensor.bytes > limit) {
    throw new StudioError(ModelErrorCode.tooLargeForDevice, `${what}; its largest tensor '${e.largestTensor.name}' needs ${formatBytes(e.largestTensor.bytes)}, more than one storage binding holds on this device (${formatBytes(limit)})`, hint);
  }
  if (e.total > MAX_MODEL_BYTES) {
    throw new StudioError(ModelErrorCode.tooLargeForDevice, `${what}, more than the ${formatBytes(MAX_MODEL_BYTES)} any WebGPU device lends (src/model/limits.ts)`, hint);
  }
  if (budget !== null && e.total > budget) {
    throw new StudioError(ModelErrorCode.tooLargeForDevice, `${what}, more than the ${formatBytes(budget)} budget (${Math.round((given?.fraction ?? 0.8) * 100)}% of ${formatBytes(given!.deviceMemoryBytes!)})`, hint);
  }
  return e;
}
