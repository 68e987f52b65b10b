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
}

/**
 * Forward only (no dropout, no backward, gradients untouched): ShadowPeftModel.forward leaves the
 * final normed base stream and s⁰ in the workspace, and the loss heads run without dh. Per-batch
 * means are weighted by their supervised tokens, so the result is one mean over the whole set.
 */
export async function evaluate(model: ShadowPeftModel, ws: ShadowWorkspace, batches: readonly PreparedBatch[]): Promise<EvalResult> {
  const gpu = model.gpu;
  let base = 0;
  let shadow = 0;
  let supervised = 0;
  for (const b of batches) {
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
  const loss = supervised > 0 ? base / supervised : NaN;
  return { loss, perplexity: Math.exp(loss), shadowLoss: supervised > 0 ? shadow / supervised : NaN, supervised };
}
