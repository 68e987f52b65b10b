import { StudioError } from '../engine/errors';
import { ShadowErrorCode } from './errors';
import type { ResolvedShadow } from './resolve';

export { parseShadowConfigJson, shadowConfigJson } from './configJson';

/** Which part of the adapter a tensor belongs to (the parameter-count breakdown uses the same parts). */
export type AdapterPart = 'backbone' | 'injection' | 'update' | 'projection';

export interface AdapterTensorSpec {
  /** Key in shadow_adapter.safetensors, exactly as the reference package writes it. */
  key: string;
  /** Shape as stored in the file (torch layout [out, in] for linears; see injection_* below). */
  shape: readonly number[];
  /** AdamW weight decay applies: 2-D and 3-D weights yes; 1-D norm weights and biases no. */
  decay: boolean;
  part: AdapterPart;
  /** Trained (gradient and AdamW state); false only for an explicit shadow's frozen embeddings. */
  trainable: boolean;
}

/**
 * THE size table of the trainable adapter (docs/shadowpeft.md §8): every tensor of shadow_adapter.safetensors
 * for a resolved config, in the reference package's state_dict order. GPU allocation, parameter count,
 * saving and strict loading all derive from this one list.
 */
export function adapterTensors(r: ResolvedShadow): AdapterTensorSpec[] {
  const out: AdapterTensorSpec[] = [];
  const add = (key: string, shape: number[], part: AdapterPart, trainable = true) => out.push({ key, shape, decay: shape.length >= 2, part, trainable });
  const b = r.backbone;
  const qOut = b.NH * b.HS;
  const kvOut = b.NKV * b.HS;

  // Implicit shadows share the base embeddings; an explicit one may keep its own table.
  if (r.ownEmbeddingRows !== null) add('shadow_model.embed_tokens.weight', [r.ownEmbeddingRows, b.C], 'backbone', !r.frozenEmbeddings);
  for (let i = 0; i < b.N; i++) {
    const p = `shadow_model.layers.${i}`;
    add(`${p}.self_attn.q_proj.weight`, [qOut, b.C], 'backbone');
    if (b.qkvBias) add(`${p}.self_attn.q_proj.bias`, [qOut], 'backbone');
    add(`${p}.self_attn.k_proj.weight`, [kvOut, b.C], 'backbone');
    if (b.qkvBias) add(`${p}.self_attn.k_proj.bias`, [kvOut], 'backbone');
    add(`${p}.self_attn.v_proj.weight`, [kvOut, b.C], 'backbone');
    if (b.qkvBias) add(`${p}.self_attn.v_proj.bias`, [kvOut], 'backbone');
    add(`${p}.self_attn.o_proj.weight`, [b.C, qOut], 'backbone');
    if (b.oBias) add(`${p}.self_attn.o_proj.bias`, [b.C], 'backbone');
    if (b.qkNorm) {
      add(`${p}.self_attn.q_norm.weight`, [b.HS], 'backbone');
      add(`${p}.self_attn.k_norm.weight`, [b.HS], 'backbone');
    }
    add(`${p}.mlp.gate_proj.weight`, [b.I, b.C], 'backbone');
    add(`${p}.mlp.up_proj.weight`, [b.I, b.C], 'backbone');
    add(`${p}.mlp.down_proj.weight`, [b.C, b.I], 'backbone');
    add(`${p}.input_layernorm.weight`, [b.C], 'backbone');
    add(`${p}.post_attention_layernorm.weight`, [b.C], 'backbone');
  }
  add('shadow_model.norm.weight', [b.C], 'backbone');
  if (r.projection) add('shadow_hidden_projection.weight', [r.C, b.C], 'projection');

  // NOT torch layout: the package multiplies δ (…, C) · downs[k] (C, R), then (…, R) · ups[k] (R, C).
  add('shadow_injection_model.injection_downs', [r.slots, r.C, r.R], 'injection');
  add('shadow_injection_model.injection_ups', [r.slots, r.R, r.C], 'injection');

  // nn.Sequential indices: gates = Linear, SiLU, Linear(2), Sigmoid; transforms = Linear, SiLU, Dropout, Linear(3).
  for (let k = 0; k < r.slots; k++) {
    add(`shadow_update_model.update_gates.${k}.0.weight`, [r.G, r.C], 'update');
    add(`shadow_update_model.update_gates.${k}.2.weight`, [r.C, r.G], 'update');
  }
  for (let k = 0; k < r.slots; k++) {
    add(`shadow_update_model.update_transforms.${k}.0.weight`, [r.G, r.C], 'update');
    add(`shadow_update_model.update_transforms.${k}.3.weight`, [r.C, r.G], 'update');
  }
  add('shadow_update_model.hidden_norm.weight', [r.C], 'update');
  add('shadow_update_model.hidden_norm.bias', [r.C], 'update');
  return out;
}

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/**
 * Strict loading check (docs/shadowpeft.md §8): the file's tensors must be exactly the expected keys with
 * exactly the expected shapes. Throws naming the first offending key.
 */
export function checkAdapterTensors(expected: readonly AdapterTensorSpec[], found: ReadonlyMap<string, readonly number[]>): void {
  const want = new Map(expected.map((e) => [e.key, e.shape]));
  for (const e of expected) {
    const got = found.get(e.key);
    if (!got) {
      throw new StudioError(ShadowErrorCode.adapterKeyMissing, `adapter tensor '${e.key}' ${fmt(e.shape)} is missing from the file`, 'the adapter was saved for another configuration or base model');
    }
    if (got.length !== e.shape.length || got.some((d, i) => d !== e.shape[i])) {
      throw new StudioError(ShadowErrorCode.adapterShapeMismatch, `adapter tensor '${e.key}' has shape ${fmt(got)}, expected ${fmt(e.shape)}`, 'check that shadow_config.json and the base model match the ones the adapter was trained with');
    }
  }
  for (const key of found.keys()) {
    if (!want.has(key)) {
      throw new StudioError(ShadowErrorCode.adapterKeyUnexpected, `adapter file holds an unexpected tensor '${key}'`, 'the adapter was saved for another configuration or base model');
    }
  }
}

function fmt(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}
