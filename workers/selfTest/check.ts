/**
 * What every self-test check shares: a job per case (the runner yields to the worker's event loop
 * between jobs), the comparison of several outputs against their CPU references under one tolerance,
 * and the tensors a case owns (destroyed when it is done).
 */
import type { DType } from '../../src/engine/dtype';
import type { Gpu } from '../../src/engine/runtime';
import type { Tensor } from '../../src/engine/tensor';
import { numel } from '../../src/engine/tensor';
import { compareClose } from '../../src/engine/testing/expectClose';
import type { Tolerance } from '../../src/engine/testing/expectClose';
import { upload } from '../../src/engine/testing/testGpu';
import type { SelfTestCase, SelfTestKernel } from '../api';

export interface JobResult {
  checks: SelfTestCase[];
  /** GPU time of the case's dispatches (wall time to completion where timestamps are missing). */
  gpuMs: number;
}

/** One case of one kernel: uploads, dispatches, reads back and compares. */
export interface SelfTestJob {
  kernel: SelfTestKernel;
  label: string;
  run(gpu: Gpu): Promise<JobResult>;
}

/** Named outputs: GPU values and the reference they must match. */
export type Outputs = Record<string, [got: ArrayLike<number>, want: ArrayLike<number>]>;

/** One check over several outputs held to the same tolerance; fails on the first output that is not close. */
export function check(kernel: SelfTestKernel, label: string, outputs: Outputs, tolerance: Tolerance): SelfTestCase {
  let maxAbsError = 0;
  let message: string | undefined;
  for (const [name, [got, want]] of Object.entries(outputs)) {
    const r = compareClose(got, want, tolerance);
    maxAbsError = Math.max(maxAbsError, r.maxAbsError);
    if (!r.ok) message ??= `${name}: ${r.message}`;
  }
  return message === undefined ? { label, kernel, maxAbsError, tolerance, passed: true } : { label, kernel, maxAbsError, tolerance, passed: false, message };
}

/** The tensors of one case, destroyed together once its results are read back. */
export class CaseTensors {
  private readonly owned: Tensor[] = [];

  constructor(private readonly gpu: Gpu) {}

  async upload(name: string, data: Float32Array | Uint32Array | Int32Array | Uint8Array, shape: readonly number[], dtype: DType = 'f32'): Promise<Tensor> {
    return this.own(await upload(this.gpu, `selftest.${name}`, data, shape, dtype));
  }

  /** An f32 output filled with `fill` (NaN by default), so that an element the kernel forgets shows up. */
  async output(name: string, shape: readonly number[], fill = NaN): Promise<Tensor> {
    return this.upload(name, new Float32Array(numel(shape)).fill(fill), shape);
  }

  own(t: Tensor): Tensor {
    this.owned.push(t);
    return t;
  }

  destroy(): void {
    this.gpu.release(this.owned);
    this.owned.length = 0;
  }
}
