import type { TokenBatch } from '../model/batch';
import type { TensorToWrite } from '../model/safetensors/serialize';
import { serializeSafetensors } from '../model/safetensors/serialize';
import { adapterTensors } from './adapterFormat';
import { readAdapterLayout } from './adapterIO';
import type { ShadowPeftModel } from './shadowModel';

/** batch.json of `cli dump`: right-padded rows, labels with −100 = ignored (unshifted, HF convention). */
export interface DumpBatch {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  shadow_loss_weight: number;
}

export function dumpBatchToTokens(b: DumpBatch): { batch: TokenBatch; labels: Int32Array } {
  const lengths = b.attention_mask.map((row) => row.reduce((a, m) => a + (m ? 1 : 0), 0));
  // Keep the file's padded width and pad ids so logits line up with its rows.
  const T = Math.max(...b.input_ids.map((r) => r.length));
  const B = b.input_ids.length;
  const inputIds = new Uint32Array(B * T);
  const attentionMask = new Uint32Array(B * T);
  const positionIds = new Uint32Array(B * T);
  const labels = new Int32Array(B * T).fill(-100);
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < T; t++) {
      inputIds[r * T + t] = b.input_ids[r]![t] ?? 0;
      attentionMask[r * T + t] = b.attention_mask[r]![t] ?? 0;
      positionIds[r * T + t] = t < lengths[r]! ? t : 0;
      labels[r * T + t] = b.labels[r]![t] ?? -100;
    }
  }
  return { batch: { B, T, inputIds, attentionMask, positionIds }, labels };
}

/**
 * The numerics of one training step with dropout off, for checking outside the test suite:
 * logits, shadow_logits (B, T, V), loss, base_loss, shadow_loss (1) and grad.<official key> for
 * every adapter tensor (zeros where no gradient flows), as one F32 safetensors file.
 */
export async function dumpStep(model: ShadowPeftModel, b: DumpBatch): Promise<Uint8Array> {
  const gpu = model.gpu;
  const { batch, labels } = dumpBatchToTokens(b);
  const { B, T } = batch;
  const N = B * T;
  const V = model.base.config.vocabSize;
  const ws = await model.createWorkspace(B, T);
  model.zeroGrads();
  const losses = (await model.forwardBackward(ws, batch, labels, b.shadow_loss_weight, null, { readLosses: true }))!;
  const logits = await gpu.createTensor('dump.logits', [N, V]);
  const f32 = (name: string, shape: number[], data: Float32Array): TensorToWrite => ({ name, dtype: 'F32', shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  const out: TensorToWrite[] = [];
  model.base.logits(ws.base.h, logits, N);
  out.push(f32('logits', [B, T, V], await gpu.read(logits)));
  model.base.logits(ws.states[0]!, logits, N);
  out.push(f32('shadow_logits', [B, T, V], await gpu.read(logits)));
  out.push(f32('loss', [1], Float32Array.of(losses.loss)), f32('base_loss', [1], Float32Array.of(losses.baseLoss)), f32('shadow_loss', [1], Float32Array.of(losses.shadowLoss)));
  const grads = await readAdapterLayout(model, model.grads);
  for (const t of adapterTensors(model.resolved)) out.push(f32(`grad.${t.key}`, [...t.shape], grads.get(t.key)!));
  return serializeSafetensors(out, { format: 'pt', producer: 'shadowpeft-studio cli dump' });
}
