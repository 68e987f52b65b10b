import type { BatchIndices, DataCursor } from './data/epochs';
import { EpochIterator } from './data/epochs';
import type { TokenizedExample } from './data/types';
import type { RunConfig } from './runConfig';

/**
 * Which examples each optimizer step trains on. Micro-batches of `microBatchSize` come from the
 * data pipeline's EpochIterator (a seeded order per epoch, the last micro-batch of an epoch may be
 * short); a step takes up to `gradientAccumulationSteps` of them but never crosses an epoch end,
 * as the HF Trainer does. Everything follows from (seed, cursor), so a saved cursor resumes exactly.
 */
export function stepsPerEpoch(trainExamples: number, microBatchSize: number, accumulation: number): number {
  return Math.ceil(Math.ceil(trainExamples / microBatchSize) / accumulation);
}

/** Optimizer steps of the whole run (what the schedule decays over). */
export function plannedSteps(config: Pick<RunConfig, 'maxSteps' | 'epochs' | 'microBatchSize' | 'gradientAccumulationSteps'>, trainExamples: number): number {
  return config.maxSteps ?? config.epochs * stepsPerEpoch(trainExamples, config.microBatchSize, config.gradientAccumulationSteps);
}

/** What a run will do, from its settings and data alone (no GPU). */
export interface RunPlan {
  totalSteps: number;
  stepsPerEpoch: number;
  /**
   * The workspace every micro-batch of the run fits in: B the micro-batch size, T the longest
   * sequence of the training and validation sets. Every batch the run makes — full and last partial
   * training batches, evaluation batches — is at most B × T, and every workspace-sized buffer serves
   * any smaller shape (see maxPartials in rmsnorm.ts), so it is never too small.
   */
  workspace: { B: number; T: number };
  /** evaluation batches of one full pass over the validation set */
  validationBatches: number;
  tokensPerEpoch: number;
}

/** The longest sequence of the example lists, and at least 2 (the causal shift needs two positions). */
export function longestSequence(...lists: readonly (readonly TokenizedExample[])[]): number {
  let maxT = 2;
  for (const list of lists) for (const e of list) maxT = Math.max(maxT, e.inputIds.length);
  return maxT;
}

type PlanConfig = Pick<RunConfig, 'maxSteps' | 'epochs' | 'microBatchSize' | 'gradientAccumulationSteps'>;

export function planRun(config: PlanConfig, data: { train: readonly TokenizedExample[]; validation: readonly TokenizedExample[] }): RunPlan {
  const maxT = longestSequence(data.train, data.validation);
  return {
    totalSteps: plannedSteps(config, data.train.length),
    stepsPerEpoch: stepsPerEpoch(data.train.length, config.microBatchSize, config.gradientAccumulationSteps),
    workspace: { B: config.microBatchSize, T: maxT },
    validationBatches: Math.ceil(data.validation.length / config.microBatchSize),
    tokensPerEpoch: data.train.reduce((a, e) => a + e.inputIds.length, 0),
  };
}

export class StepPlanner {
  private readonly it: EpochIterator;

  constructor(
    readonly trainExamples: number,
    private readonly config: Pick<RunConfig, 'microBatchSize' | 'gradientAccumulationSteps' | 'seed'>,
    cursor: DataCursor = { epoch: 0, position: 0 },
  ) {
    this.it = new EpochIterator(trainExamples, { batchSize: config.microBatchSize, seed: config.seed, shuffle: true }, cursor);
  }

  /** Where the next step starts (saved in checkpoints). */
  get cursor(): DataCursor {
    return this.it.cursor;
  }

  /** Epochs done, fractional. */
  get epochsDone(): number {
    const c = this.it.cursor;
    return c.epoch + c.position / this.trainExamples;
  }

  /** The micro-batches of the next optimizer step (1 … gradientAccumulationSteps, one epoch only). */
  next(): BatchIndices[] {
    const epoch = this.it.cursor.epoch;
    const out: BatchIndices[] = [];
    while (out.length < this.config.gradientAccumulationSteps && this.it.cursor.epoch === epoch) out.push(this.it.next());
    return out;
  }
}
