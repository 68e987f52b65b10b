/**
 * The typed API of the studio worker (CONVENTIONS.md §7). The UI imports these types only; the
 * implementation lives in studio.worker.ts. No GPU object crosses this boundary: results are plain
 * data, large ones as transferable ArrayBuffers, and errors as coded errors.
 */
import type { Capabilities } from '../src/engine/device';

export interface SelfTestCase {
  label: string;
  M: number;
  N: number;
  K: number;
  batch: number;
  transA: boolean;
  transB: boolean;
  maxAbsError: number;
  passed: boolean;
}

export interface SelfTestResult {
  passed: boolean;
  maxAbsError: number;
  /** Absolute tolerance each case was held to. */
  tolerance: number;
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
  /** Runs the matmul kernel on awkward shapes against the CPU reference. */
  selfTest(): Promise<SelfTestResult>;
}
