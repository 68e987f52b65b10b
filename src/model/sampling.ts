import { mulberry32 } from '../engine/random';

/**
 * Next-token choice from one row of logits, on the CPU (V values per step is cheap to read back).
 * Semantics follow Hugging Face's logits processors: repetition penalty, then temperature, top-k and
 * top-p (nucleus), then a draw; temperature 0 is greedy (argmax, first index on ties).
 */
export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  /** Seed of the draw; the same seed and logits give the same tokens. */
  seed?: number;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** The seeded generator of a sampling run. */
export const seededRandom = mulberry32;

/** HF RepetitionPenaltyLogitsProcessor: seen tokens' logits are divided (positive) or multiplied (negative) by the penalty. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const l = logits[id]!;
    logits[id] = l < 0 ? l * penalty : l / penalty;
  }
}

export function sampleToken(logitsIn: ArrayLike<number>, seen: readonly number[], opts: SamplingOptions, random: () => number): number {
  const logits = Float32Array.from(logitsIn);
  applyRepetitionPenalty(logits, seen, opts.repetitionPenalty ?? 1);
  const temperature = opts.temperature ?? 0;
  if (temperature <= 0) return argmax(logits);
  // Candidates sorted by logit, cut by top-k, softmax at the temperature, then cut by top-p.
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (opts.topK && opts.topK > 0) order = order.slice(0, opts.topK);
  const max = logits[order[0]!]!;
  let probs = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < probs.length && (keep === 0 || cum < topP)) cum += probs[keep++]!;
    order = order.slice(0, keep);
    probs = probs.slice(0, keep);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  let r = random();
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i]!;
    if (r <= 0) return order[i]!;
  }
  return order[order.length - 1]!;
}
