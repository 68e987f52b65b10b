/**
 * The self-test behind the capability screen's button: matmul, attention (forward and backward) and
 * fused cross entropy, each case on the GPU against the same CPU reference the Node tests use.
 */
import type { Gpu } from '../../src/engine/runtime';
import type { SelfTestCase, SelfTestResult } from '../api';
import { attentionJobs } from './attentionChecks';
import type { SelfTestJob } from './check';
import { crossEntropyJobs } from './crossEntropyChecks';
import { matmulJobs } from './matmulChecks';

const JOBS: SelfTestJob[] = [...matmulJobs, ...attentionJobs, ...crossEntropyJobs];

/** Lets the worker answer other messages between cases. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export async function runSelfTest(gpu: Gpu): Promise<SelfTestResult> {
  const cases: SelfTestCase[] = [];
  let gpuMs = 0;
  for (const job of JOBS) {
    const r = await job.run(gpu);
    cases.push(...r.checks);
    gpuMs += r.gpuMs;
    await yieldToEventLoop();
  }
  return {
    passed: cases.every((c) => c.passed),
    maxAbsError: Math.max(...cases.map((c) => c.maxAbsError)),
    cases,
    gpuMs,
  };
}
