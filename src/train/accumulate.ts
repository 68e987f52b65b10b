import { scaleInPlace } from '../engine/kernels/elementwise/elementwise';
import type { ShadowPeftModel, ShadowWorkspace } from '../shadow/shadowModel';
import type { DropoutStep } from '../shadow/slotOps';
import type { PreparedBatch } from './prepareBatch';

export interface AccumulatedLosses {
  /** λ-combined loss, base CE and shadow CE: means over every supervised token of the step */
  loss: number;
  baseLoss: number;
  shadowLoss: number;
  supervised: number;
  tokens: number;
}

/**
 * Weights that make accumulated micro-batches equal ONE batch of all of them. Each micro-batch's
 * cross entropy is a mean over its own s_i supervised tokens; the big batch's is a mean over Σs, so
 * micro-batch i counts w_i = s_i / Σs (not 1/accumulation, which over-weights short micro-batches).
 */
export function microBatchWeights(supervised: readonly number[]): number[] {
  const total = supervised.reduce((a, s) => a + s, 0);
  return supervised.map((s) => (total > 0 ? s / total : 0));
}

/** Multiplies every adapter gradient by s (whole gradient buffers, as zeroGrads addresses them). */
function scaleGrads(model: ShadowPeftModel, s: number): void {
  for (const b of model.grads.buffers) scaleInPlace(model.gpu, { buffer: b, offset: 0, shape: [b.size / 4], dtype: 'f32', name: 'grads' }, b.size / 4, s);
}

/**
 * Zeroes the adapter gradients, then runs forward + backward over the step's micro-batches so that
 * the gradients end as Σ w_i · g_i (w from microBatchWeights) and the returned losses as Σ w_i · L_i.
 *
 * forwardBackward adds each micro-batch's gradient g_i at weight 1 (it has no loss-scale argument),
 * so the weights are applied by rescaling what has accumulated so far: before micro-batch j the
 * gradients are multiplied by w_{j−1}/w_j, and after the last by w_last. The result is
 * Σ (w_i/w_last)·g_i · w_last = Σ w_i g_i. A single micro-batch has w = 1 and is left untouched
 * (bit-identical to no accumulation). Micro-batches without a supervised token add nothing and are
 * not run. Returns null when `between` abandons the step (the gradients are then partial: the caller
 * must not apply them).
 */
export async function accumulateGradients(
  model: ShadowPeftModel,
  ws: ShadowWorkspace,
  micro: readonly PreparedBatch[],
  lambda: number,
  dropFor: (microIndex: number) => DropoutStep | null,
  /** awaited before each micro-batch after the first (a pause waits there); false abandons the step */
  between?: () => Promise<boolean>,
): Promise<AccumulatedLosses | null> {
  const weights = microBatchWeights(micro.map((m) => m.supervised));
  const out: AccumulatedLosses = { loss: 0, baseLoss: 0, shadowLoss: 0, supervised: 0, tokens: 0 };
  model.zeroGrads();
  let previous = 0;
  for (let i = 0; i < micro.length; i++) {
    const m = micro[i]!;
    out.tokens += m.tokens;
    const w = weights[i]!;
    if (w === 0) continue;
    if (i > 0 && between && !(await between())) return null;
    if (previous > 0 && previous !== w) scaleGrads(model, previous / w);
    const l = (await model.forwardBackward(ws, m.batch, m.labels, lambda, dropFor(i), { readLosses: true }))!;
    out.loss += w * l.loss;
    out.baseLoss += w * l.baseLoss;
    out.shadowLoss += w * l.shadowLoss;
    out.supervised += l.supervised;
    previous = w;
  }
  if (previous > 0 && previous !== 1) scaleGrads(model, previous);
  return out;
}
