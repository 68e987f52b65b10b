import { StudioError } from '../engine/errors';
import type { Tensor } from '../engine/tensor';
import type { TokenBatch } from '../model/batch';
import { checkFits, estimateMemory } from '../model/memory';
import type { TensorToWrite } from '../model/safetensors/serialize';
import { serializeSafetensors } from '../model/safetensors/serialize';
import { adapterTensors } from './adapterFormat';
import { readAdapterLayout } from './adapterIO';
import { shadowLossWeightIssue, show } from './config';
import { ShadowErrorCode } from './errors';
import type { ShadowPeftModel } from './shadowModel';
import { destroyShadowWorkspace } from './shadowWorkspace';

/** batch.json of `cli dump`: right-padded rows, labels with −100 = ignored (unshifted, HF convention). */
export interface DumpBatch {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  shadow_loss_weight: number;
}

const IGNORE = -100;

/**
 * A parsed batch.json checked in full against the model, before anything is allocated: B ≥ 1 rows of
 * 1 ≤ length ≤ max positions, the three arrays of one shape, token ids within the vocabulary, masks of
 * 1s then 0s (right padding, at least one 1), labels −100 or a token id and −100 on padding, at least
 * one supervised token, and λ (shadow_loss_weight) in range. Every problem is a coded error (E220, or
 * E221 for λ) naming the file and the entry.
 */
export function parseDumpBatch(json: unknown, model: { vocabSize: number; maxPositionEmbeddings: number }, file = 'batch.json'): DumpBatch {
  const bad = (what: string, hint = 'write input_ids, attention_mask and labels as lists of equal-length rows of integers, and shadow_loss_weight as a number') => new StudioError(ShadowErrorCode.badBatch, `${file}: ${what}`, hint);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(`must hold a JSON object, found ${show(json)}`);
  const o = json as Record<string, unknown>;
  const V = model.vocabSize;
  const rowsOf = (key: string): unknown[][] => {
    const v = o[key];
    if (v === undefined) throw bad(`${key} is missing`);
    if (!Array.isArray(v)) throw bad(`${key} is ${show(v)}; it must be a list of rows`);
    if (v.length === 0) throw bad(`${key} is empty; a batch needs at least one row`);
    v.forEach((row, r) => {
      if (!Array.isArray(row)) throw bad(`${key}[${r}] is ${show(row)}; it must be a list of integers`);
      if (row.length === 0) throw bad(`${key}[${r}] is empty; every row needs at least one token`);
      if (row.length > model.maxPositionEmbeddings) throw bad(`${key}[${r}] has ${row.length} tokens, more than the model's ${model.maxPositionEmbeddings} positions`);
    });
    return v as unknown[][];
  };
  const ids = rowsOf('input_ids');
  const mask = rowsOf('attention_mask');
  const labels = rowsOf('labels');
  for (const [key, rows] of [['attention_mask', mask], ['labels', labels]] as const) {
    if (rows.length !== ids.length) throw bad(`${key} has ${rows.length} rows, input_ids ${ids.length}`);
    rows.forEach((row, r) => {
      if (row.length !== ids[r]!.length) throw bad(`${key}[${r}] has ${row.length} entries, input_ids[${r}] ${ids[r]!.length}`);
    });
  }
  let supervised = 0;
  ids.forEach((row, r) => {
    let padded = false;
    row.forEach((id, t) => {
      if (!(typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 && id < V)) throw bad(`input_ids[${r}][${t}] is ${show(id)}; token ids must be integers with 0 ≤ id < ${V} (the model's vocabulary)`);
      const m = mask[r]![t];
      if (m !== 0 && m !== 1) throw bad(`attention_mask[${r}][${t}] is ${show(m)}; it must be 0 or 1`);
      if (m === 1 && padded) throw bad(`attention_mask[${r}] has a 1 after a 0 at ${t}; rows must be right-padded (1s, then 0s)`);
      if (m === 0) padded = true;
      const l = labels[r]![t];
      if (!(typeof l === 'number' && Number.isSafeInteger(l) && (l === IGNORE || (l >= 0 && l < V)))) throw bad(`labels[${r}][${t}] is ${show(l)}; labels must be ${IGNORE} (ignored) or token ids with 0 ≤ id < ${V}`);
      if (l !== IGNORE && m === 0) throw bad(`labels[${r}][${t}] is ${l} on a padded position (attention_mask 0); padding must be labelled ${IGNORE}`);
      if (l !== IGNORE && t > 0) supervised++;
    });
    if (mask[r]![0] !== 1) throw bad(`attention_mask[${r}] starts with 0; every row needs at least one real token first`);
  });
  if (supervised === 0) throw bad(`no label is supervised (all are ${IGNORE}, or only the first of a row, which nothing predicts); the loss would be 0/0`, 'give at least one label after the first token of a row');
  const lambdaIssue = shadowLossWeightIssue(o.shadow_loss_weight, `${file}: `);
  if (lambdaIssue) throw lambdaIssue;
  return { input_ids: ids as number[][], attention_mask: mask as number[][], labels: labels as number[][], shadow_loss_weight: o.shadow_loss_weight as number };
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
  // The base's share of the step must fit before the workspace is made (E124 says what would).
  const caps = gpu.caps;
  checkFits(estimateMemory(model.base.config, caps, { B, T, training: true, storage: model.base.weights.storage }), caps, model.base.config, B, T);
  const ws = await model.createWorkspace(B, T);
  let logits: Tensor | null = null;
  const out: TensorToWrite[] = [];
  try {
    model.zeroGrads();
    const losses = (await model.forwardBackward(ws, batch, labels, b.shadow_loss_weight, null, { readLosses: true }))!;
    logits = await gpu.createTensor('dump.logits', [N, V]);
    const f32 = (name: string, shape: number[], data: Float32Array): TensorToWrite => {
      // Never write NaN: a dump is a reference for other implementations.
      const i = data.findIndex((x) => !Number.isFinite(x));
      if (i >= 0) throw new StudioError(ShadowErrorCode.nonFiniteOutput, `dump: ${name} holds NaN or infinite values (first at element ${i}); refusing to write it`, 'check the adapter and the batch; an adapter trained past divergence gives this');
      return { name, dtype: 'F32', shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    };
    const lossEntries = [f32('loss', [1], Float32Array.of(losses.loss)), f32('base_loss', [1], Float32Array.of(losses.baseLoss)), f32('shadow_loss', [1], Float32Array.of(losses.shadowLoss))];
    model.base.logits(ws.base.h, logits, N);
    out.push(f32('logits', [B, T, V], await gpu.read(logits)));
    model.base.logits(ws.states[0]!, logits, N);
    out.push(f32('shadow_logits', [B, T, V], await gpu.read(logits)), ...lossEntries);
    const grads = await readAdapterLayout(model, model.grads);
    for (const t of adapterTensors(model.resolved)) out.push(f32(`grad.${t.key}`, [...t.shape], grads.get(t.key)!));
  } finally {
    if (logits) gpu.release(logits);
    destroyShadowWorkspace(gpu, ws);
  }
  return serializeSafetensors(out, { format: 'pt', producer: 'shadowpeft-studio cli dump' });
}
