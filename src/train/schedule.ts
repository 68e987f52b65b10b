/**
 * Learning-rate schedules with linear warm-up, as Hugging Face transformers defines them
 * (get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup with num_cycles 0.5), and the
 * warm-up length of TrainingArguments.get_warmup_steps: ceil(ratio · total).
 *
 * `step` counts optimizer steps already taken (0 for the first update), exactly like the LambdaLR
 * that HF steps after every optimizer.step(): with any warm-up the very first update uses lr 0.
 */
export type ScheduleKind = 'linear' | 'cosine';

export interface ScheduleSpec {
  kind: ScheduleKind;
  /** the learning rate after warm-up, before decay */
  peakLr: number;
  /** optimizer steps of the whole run */
  totalSteps: number;
  /** share of totalSteps spent warming up from 0, in [0, 1] */
  warmupRatio: number;
}

/** What a checkpoint records of the schedule: with the optimizer step it fixes every future lr. */
export interface ScheduleState {
  kind: ScheduleKind;
  peakLr: number;
  totalSteps: number;
  warmupSteps: number;
}

export function warmupSteps(totalSteps: number, warmupRatio: number): number {
  return Math.ceil(totalSteps * warmupRatio);
}

export function scheduleState(spec: ScheduleSpec): ScheduleState {
  return { kind: spec.kind, peakLr: spec.peakLr, totalSteps: spec.totalSteps, warmupSteps: warmupSteps(spec.totalSteps, spec.warmupRatio) };
}

/** The multiplier of the peak learning rate after `step` optimizer steps (HF's lr_lambda). */
export function lrFactor(s: ScheduleState, step: number): number {
  const { warmupSteps: W, totalSteps: T } = s;
  if (step < W) return step / Math.max(1, W);
  if (s.kind === 'linear') return Math.max(0, (T - step) / Math.max(1, T - W));
  // Clamped at the end: HF's cosine rises again past totalSteps (the loop never gets there).
  const progress = Math.min(1, (step - W) / Math.max(1, T - W));
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The learning rate of the update that follows `step` completed optimizer steps. */
export function learningRate(s: ScheduleState, step: number): number {
  return s.peakLr * lrFactor(s, step);
}
