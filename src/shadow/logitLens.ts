import type { Tensor } from '../engine/tensor';
import { rowsView } from '../engine/tensor';
import { makeBatch } from '../model/batch';
import type { ShadowPeftModel } from './shadowModel';
import { destroyShadowWorkspace } from './shadowWorkspace';

export interface LensEntry {
  id: number;
  prob: number;
}

/** Top-k next tokens at every adapter slot for one token: base stream without and with the adapter, and the shadow state. */
export interface LogitLens {
  token: number;
  /** per slot k (the stream entering base layer k + 1, and sᵏ) */
  layers: { baseOff: LensEntry[]; baseOn: LensEntry[]; shadow: LensEntry[] }[];
}

function topK(logits: Float32Array, k: number): LensEntry[] {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!).slice(0, k);
  return order.map((id) => ({ id, prob: Math.exp(logits[id]! - max) / sum }));
}

/**
 * The logit lens (nostalgebraist's): a stream or state read out through the final norm and the head as
 * if the network ended there. Rows are copied out on the GPU; only top-k of V logits per read-out
 * come back.
 */
export async function logitLens(model: ShadowPeftModel, tokens: readonly number[], token: number, k = 5): Promise<LogitLens> {
  const gpu = model.gpu;
  const base = model.base;
  const C = base.config.hiddenSize;
  const V = base.config.vocabSize;
  const T = tokens.length;
  const batch = makeBatch([tokens]);
  const baseWs = await base.createWorkspace(1, T, true);
  const ws = await model.createWorkspace(1, T);
  const row = await gpu.createTensor('lens.row', [1, C]);
  const normed = await gpu.createTensor('lens.normed', [1, C]);
  const logits = await gpu.createTensor('lens.logits', [1, V]);
  try {
    base.forward(baseWs, batch);
    model.forward(ws, batch, null);
    const readOut = async (src: Tensor, finalNorm: boolean): Promise<LensEntry[]> => {
      gpu.copy(rowsView(src, token, 1, C), row);
      if (finalNorm) base.finalNormForward(row, normed, 1);
      base.logits(finalNorm ? normed : row, logits, 1);
      return topK(await gpu.read(logits), k);
    };
    const layers: LogitLens['layers'] = [];
    for (let slot = 0; slot < model.resolved.slots; slot++) {
      layers.push({
        baseOff: await readOut(baseWs.residuals![slot + 1]!, true),
        baseOn: await readOut(ws.hs[slot + 1]!, true),
        // s⁰ is already normed by the shadow's own final norm and read by the head directly (§3).
        shadow: await readOut(ws.states[slot]!, slot !== 0),
      });
    }
    return { token, layers };
  } finally {
    gpu.release([row, normed, logits, baseWs]);
    destroyShadowWorkspace(gpu, ws);
  }
}
