/**
 * The typed API of the studio worker (CONVENTIONS.md §7). The UI imports these types only; the
 * implementation lives in studio.worker.ts. No GPU object crosses this boundary: results are plain
 * data, large ones as transferable ArrayBuffers, and errors as coded errors.
 */
import type { Capabilities } from '../src/engine/device';
import type { Tolerance } from '../src/engine/testing/expectClose';

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

export interface StudioWorkerApi {
  /** Acquires the GPU (once) and returns what it can do. Rejects with a coded error without WebGPU. */
  capabilities(): Promise<Capabilities>;
  /** Runs matmul, attention (forward and backward) and fused cross entropy against their CPU references. */
  selfTest(): Promise<SelfTestResult>;
}
