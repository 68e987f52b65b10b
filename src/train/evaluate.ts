import { shiftLabels } from '../model/lossHead';
import type { ShadowPeftModel, ShadowWorkspace } from '../shadow/shadowModel';
import type { PreparedBatch } from './prepareBatch';

export interface EvalResult {
  /** base-model cross entropy, mean over every supervised validation token */
  loss: number;
  /** exp(loss) */
  perplexity: number;
  /** the shadow-only head's cross entropy over the same tokens */
  shadowLoss: number;
  supervised: number;
  /** the evaluation was cancelled before its last batch (the figures cover the batches done) */
  cancelled: boolean;
}

export interface EvaluateOptions {
  /** after each batch: batches done and in all */
  onProgress?: (done: number, total: number) => void;
  /** checked before each batch after the first; true ends the evaluation there */
  cancelled?: () => boolean;
}

/**
 * Forward only (no dropout, no backward, gradients untouched): ShadowPeftModel.forward leaves the
 * final normed base stream and s⁰ in the workspace, and the loss heads run without dh. Per-batch
 * means are weighted by their supervised tokens, so the result is one mean over the whole set.
 */
export async function evaluate(model: ShadowPeftModel, ws: ShadowWorkspace, batches: readonly PreparedBatch[], opts: EvaluateOptions = {}): Promise<EvalResult> {
  const gpu = model.gpu;
  let base = 0;
  let shadow = 0;
  let supervised = 0;
  let cancelled = false;
  for (let i = 0; i < batches.length; i++) {
    if (i > 0 && opts.cancelled?.()) {
      cancelled = true;
      break;
    }
    const b = batches[i]!;
    opts.onProgress?.(i, batches.length);
    if (b.supervised === 0) continue;
    model.forward(ws, b.batch, null);
    const targets = shiftLabels(b.labels, b.batch.B, b.batch.T);
    ws.baseLoss.setTargets(targets); // the shadow's head is paired with it
    ws.baseLoss.runOnTargets(ws.base.h, model.base.head);
    ws.shadowLoss.runOnTargets(ws.states[0]!, model.base.head);
    base += (await gpu.read(ws.baseLoss.loss))[0]! * b.supervised;
    shadow += (await gpu.read(ws.shadowLoss.loss))[0]! * b.supervised;
    supervised += b.supervised;
  }
  if (!cancelled) opts.onProgress?.(batches.length, batches.length);
  const loss = supervised > 0 ? base / supervised : NaN;
  return { loss, perplexity: Math.exp(loss), shadowLoss: supervised > 0 ? shadow / supervised : NaN, supervised, cancelled };
}
