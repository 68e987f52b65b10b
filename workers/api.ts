/**
 * The typed API of the studio worker (docs/conventions.md §7). The UI imports these types only; the
 * implementation lives in studio.worker.ts. No GPU object crosses this boundary: results are plain
 * data, large ones as transferable ArrayBuffers, and errors as coded errors.
 */
import type { RunEstimate } from '../src/train/estimate';
import type { Capabilities } from '../src/engine/device';
import type { Tolerance } from '../src/engine/testing/expectClose';
import type { ShadowConfig } from '../src/shadow/config';
import type { ShadowEmbeddings } from '../src/shadow/explicitShadow';
import type { DatasetFormat } from '../src/train/data/types';
import type { DataIssue } from '../src/train/data/issues';
import type { DatasetStats } from '../src/train/data/stats';
import type { ExamplePreview } from '../src/train/data/preview';
import type { ColumnMapping } from '../src/train/data/parse';

/** The kernels the self-test covers (ids are the kernel folder names under src/engine/kernels). */
export type SelfTestKernel = 'matmul' | 'attention' | 'crossentropy';

/** One GPU-vs-CPU-reference comparison: one or more output tensors held to one tolerance. */
export interface SelfTestCase {
  label: string;
  kernel: SelfTestKernel;
  /** Largest |GPU − reference| over the compared outputs. */
  maxAbsError: number;
  /** |GPU − reference| ≤ atol + rtol·|reference| must hold at every index. */
  tolerance: Tolerance;
  passed: boolean;
  /** The first mismatch (tensor, index, both values), only when the check failed. */
  message?: string;
}

export interface SelfTestResult {
  passed: boolean;
  /** Largest absolute error over every case (each case has its own tolerance). */
  maxAbsError: number;
  cases: SelfTestCase[];
  gpuMs: number;
}

/** A coded error as it crosses the worker boundary. */
export interface WorkerErrorInfo {
  code: string;
  message: string;
  hint: string;
}

// ------------------------------------------------------------------ models

/** Where a model comes from; every kind serves the Hugging Face repository layout. */
export type ModelSourceSpec =
  | { kind: 'url'; url: string; label?: string }
  | { kind: 'hub'; repo: string; revision?: string }
  | { kind: 'files'; name: string; files: { path: string; file: Blob }[] };

/** What the Model screen shows before and after loading. */
export interface ModelInfo {
  id: string;
  revision: string | null;
  modelType: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  tiedEmbeddings: boolean;
  /** the longest sequence the model's positions allow (config max_position_embeddings) */
  maxPositionEmbeddings: number;
  parameters: number;
  torchDtype: string;
  /** bytes of the checkpoint files, when the source says (index total_size or file sizes); after a load, the bytes read */
  downloadBytes: number | null;
  /** memory estimate for inference at 512 tokens and for training at the default batch */
  memory: { weights: number; inference: number; training: number; fits: boolean; message: string | null };
}

export interface LoadedModel extends ModelInfo {
  /** how matrices sit in GPU memory: f32, f16, or two bf16/f16 per u32 word */
  storage: string;
  /** bytes of the weights on the GPU */
  weightBytes: number;
}

// ------------------------------------------------------------------ data

export interface DatasetRequest {
  text: string;
  fileName: string;
  onError: 'skip' | 'stop';
  maxLength: number;
  /** fraction of examples kept for validation (0 = none) */
  validationFraction: number;
  seed: number;
  columns?: ColumnMapping;
}

export interface DatasetSummary {
  fileName: string;
  format: DatasetFormat;
  records: number;
  trainExamples: number;
  validationExamples: number;
  issues: DataIssue[];
  issueCount: number;
  stats: DatasetStats;
  preview: ExamplePreview[];
  fingerprint: string;
}

// ------------------------------------------------------------------ training

/**
 * A pretrained model as the shadow (docs/shadowpeft.md §6) instead of fresh layers of the base's
 * architecture: it must share the base's tokenizer; a different width adds a trained projection.
 */
export interface ExplicitShadowSettings {
  source: ModelSourceSpec;
  /** keep its own token embeddings; false feeds it the base's (same width needed) */
  ownEmbeddings: boolean;
  /** with its own embeddings: keep them as pretrained (no gradient or AdamW state for them) */
  freezeEmbeddings?: boolean;
}

export interface TrainingSettings {
  shadow: ShadowConfig;
  /** null or absent: the implicit shadow (num_shadow_layers fresh layers of the base's architecture) */
  explicitShadow?: ExplicitShadowSettings | null;
  /** λ of the combined loss */
  shadowLossWeight: number;
  learningRate: number;
  weightDecay: number;
  warmupRatio: number;
  schedule: 'linear' | 'cosine';
  maxGradNorm: number;
  microBatchSize: number;
  gradientAccumulation: number;
  epochs: number;
  /** 0 = never */
  evalEvery: number;
  /** batches one evaluation scores (the first of the validation set); 0 = all; absent in sessions saved before it (= the default) */
  evalBatches?: number;
  /** evaluations without improvement before stopping; 0 = never stop early */
  earlyStoppingPatience: number;
  /** 0 = only on pause */
  checkpointEvery: number;
  seed: number;
}

/** The run set-up's estimate (src/train/estimate.ts), with the time of one epoch. */
export type Estimate = RunEstimate & { msPerEpoch: number | null };

export interface CheckpointInfo {
  id: string;
  runId: string;
  step: number;
  epoch: number;
  loss: number | null;
  bytes: number;
  createdAt: number;
  baseModel: string;
}

// ------------------------------------------------------------------ generation and inspection

export type GenerationMode = 'base' | 'base_shadow' | 'shadow_only';

export interface GenerateRequest {
  prompt: string;
  mode: GenerationMode;
  /** apply the chat template to the prompt as one user turn */
  chat: boolean;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}

export interface GenerateResult {
  mode: GenerationMode;
  text: string;
  tokens: number[];
  stoppedBy: string;
  tokensPerSecond: number;
}

/** Layer × token statistics of one prompt, computed on the GPU (issue 7's heatmaps). */
export interface LayerStates {
  tokens: string[];
  layers: number;
  /** each (layers, tokens), row-major */
  stats: Record<'hNorm' | 'sNorm' | 'cosHS' | 'injection' | 'gateMean' | 'updateSize', number[]>;
}

/** The logit lens for one token: top-k next tokens read out at every adapter slot. */
export interface LogitLensView {
  token: number;
  /** per slot: the base stream without and with the adapter, and the shadow state */
  layers: { baseOff: LensChoice[]; baseOn: LensChoice[]; shadow: LensChoice[] }[];
}

export interface LensChoice {
  text: string;
  prob: number;
}

export interface AdapterFilesPayload {
  configJson: string;
  /** transferred */
  safetensors: ArrayBuffer;
}

/** What an import attached: its config, the base it names, and its explicit shadow (null: implicit). */
export interface ImportedAdapter {
  shadow: ShadowConfig;
  baseModel: string | null;
  explicitShadow: { id: string; embeddings: ShadowEmbeddings } | null;
}

// ------------------------------------------------------------------ events

export type StudioEvent =
  | { type: 'load-progress'; phase: 'download' | 'upload' | 'warmup'; file: string; loaded: number; total: number | null }
  | { type: 'train-step'; step: number; totalSteps: number; epoch: number; loss: number; baseLoss: number; shadowLoss: number; lr: number; gradNorm: number; tokensPerSecond: number; elapsedMs: number; etaMs: number; memoryBytes: number }
  | { type: 'train-eval'; step: number; valLoss: number; perplexity: number }
  | { type: 'train-eval-progress'; step: number; done: number; total: number }
  | { type: 'train-eval-cancelled'; step: number; reason: 'cancelled' | 'paused' | 'stopped' }
  | { type: 'train-skipped'; step: number; reason: string }
  | { type: 'train-checkpoint'; step: number; id: string }
  /** a problem that does not stop the run (a checkpoint could not be written) */
  | { type: 'train-warning'; step: number; error: WorkerErrorInfo }
  | { type: 'train-status'; status: 'running' | 'paused' | 'stopped' | 'done' | 'error'; reason?: string; error?: WorkerErrorInfo }
  /**
   * The GPU device was lost (E005): the model and adapter on it are gone and must be loaded again (the
   * next command acquires a new device). Sent after a run it ended has reported its error.
   */
  | { type: 'device-lost'; error: WorkerErrorInfo }
  /** a fresh run with an explicit shadow reads its pretrained weights first (bytes of one file) */
  | { type: 'shadow-load-progress'; file: string; loaded: number; total: number | null }
  | { type: 'sample'; step: number; prompt: string; text: string }
  /** the layer statistics of the fixed probe prompt, after each evaluation (the Inspect screen's "over training") */
  | { type: 'inspect-snapshot'; step: number; prompt: string; states: LayerStates }
  | { type: 'token'; requestId: number; mode: GenerationMode; text: string };

export interface StudioWorkerApi {
  /** Acquires the GPU (once) and returns what it can do. Rejects with a coded error without WebGPU. */
  capabilities(): Promise<Capabilities>;
  /** Runs matmul, attention (forward and backward) and fused cross entropy against their CPU references. */
  selfTest(): Promise<SelfTestResult>;
  /** One callback for every event (progress, training, streamed tokens). Pass it through Comlink.proxy. */
  setEventSink(sink: (e: StudioEvent) => void): void;

  /** config.json, sizes and the memory estimate, without downloading the weights. */
  inspectModel(source: ModelSourceSpec): Promise<ModelInfo>;
  loadModel(source: ModelSourceSpec): Promise<LoadedModel>;
  /** Cancels a loadModel in progress (it rejects with E509); the previously loaded model is gone. */
  cancelLoad(): Promise<void>;
  /**
   * The id of the model the worker holds (null: none). A load that fails reading config.json or the
   * tokenizer leaves the previous model loaded; one that fails on the weights leaves none.
   */
  heldModelId(): Promise<string | null>;
  loadDataset(request: DatasetRequest): Promise<DatasetSummary>;
  estimate(settings: TrainingSettings): Promise<Estimate>;

  /** Starts a run (or resumes one from a checkpoint id); progress arrives as events. */
  train(settings: TrainingSettings, resumeFrom?: string): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** Ends the evaluation in progress; training goes on. */
  cancelEvaluation(): Promise<void>;
  evaluate(): Promise<{ valLoss: number; perplexity: number }>;

  generate(request: GenerateRequest, requestId: number): Promise<GenerateResult>;
  cancelGeneration(requestId: number): Promise<void>;
  inspect(prompt: string): Promise<LayerStates>;
  /** The logit lens for token `token` of the prompt (same tokenization as inspect). */
  logitLens(prompt: string, token: number, k: number): Promise<LogitLensView>;

  exportAdapter(dtype: 'F32' | 'BF16'): Promise<AdapterFilesPayload>;
  /** `explicitShadow`: the shadow model to use when the file is an explicit shadow's and does not name it. */
  importAdapter(files: AdapterFilesPayload, explicitShadow?: ExplicitShadowSettings | null): Promise<ImportedAdapter>;
  listCheckpoints(): Promise<CheckpointInfo[]>;
  deleteCheckpoint(id: string): Promise<void>;
  /** The adapter files of a stored checkpoint, without resuming it. */
  exportCheckpoint(id: string, dtype: 'F32' | 'BF16'): Promise<AdapterFilesPayload>;
}
