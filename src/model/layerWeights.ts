import type { Tensor } from '../engine/tensor';
import type { LayerDims } from './layerDims';

/**
 * One decoder layer's weights as GPU views, torch layout (out, in). The same structure holds a frozen
 * base layer (matrices in any weight storage) and a trainable shadow layer (all f32), and the same
 * structure holds a trainable layer's gradients.
 */
export interface LayerWeights {
  inputNorm: Tensor; // (C)
  q: Tensor; // (NH·HS, C)
  k: Tensor; // (NKV·HS, C)
  v: Tensor; // (NKV·HS, C)
  o: Tensor; // (C, NH·HS)
  qBias?: Tensor; // (NH·HS)
  kBias?: Tensor; // (NKV·HS)
  vBias?: Tensor; // (NKV·HS)
  qNorm?: Tensor; // (HS)
  kNorm?: Tensor; // (HS)
  postNorm: Tensor; // (C)
  gate: Tensor; // (I, C)
  up: Tensor; // (I, C)
  down: Tensor; // (C, I)
}

/** HF suffix (after `…layers.{i}.`) of each field. */
export const LAYER_WEIGHT_NAMES: Record<keyof LayerWeights, string> = {
  inputNorm: 'input_layernorm.weight',
  q: 'self_attn.q_proj.weight',
  k: 'self_attn.k_proj.weight',
  v: 'self_attn.v_proj.weight',
  o: 'self_attn.o_proj.weight',
  qBias: 'self_attn.q_proj.bias',
  kBias: 'self_attn.k_proj.bias',
  vBias: 'self_attn.v_proj.bias',
  qNorm: 'self_attn.q_norm.weight',
  kNorm: 'self_attn.k_norm.weight',
  postNorm: 'post_attention_layernorm.weight',
  gate: 'mlp.gate_proj.weight',
  up: 'mlp.up_proj.weight',
  down: 'mlp.down_proj.weight',
};

/** Shapes of a layer's weights in torch layout, keyed like LayerWeights; optional ones per dims. */
export function layerWeightShapes(d: LayerDims): Partial<Record<keyof LayerWeights, number[]>> {
  const qOut = d.heads * d.headDim;
  const kvOut = d.kvHeads * d.headDim;
  const shapes: Partial<Record<keyof LayerWeights, number[]>> = {
    inputNorm: [d.hidden],
    q: [qOut, d.hidden],
    k: [kvOut, d.hidden],
    v: [kvOut, d.hidden],
    o: [d.hidden, qOut],
    postNorm: [d.hidden],
    gate: [d.intermediate, d.hidden],
    up: [d.intermediate, d.hidden],
    down: [d.hidden, d.intermediate],
  };
  if (d.qkvBias) Object.assign(shapes, { qBias: [qOut], kBias: [kvOut], vBias: [kvOut] });
  if (d.qkNorm) Object.assign(shapes, { qNorm: [d.headDim], kNorm: [d.headDim] });
  return shapes;
}

/** Resolves `prefix + suffix` names from a map of views into a LayerWeights. */
export function layerWeightsFrom(views: ReadonlyMap<string, Tensor>, prefix: string, d: LayerDims): LayerWeights {
  const out: Partial<LayerWeights> = {};
  for (const key of Object.keys(layerWeightShapes(d)) as (keyof LayerWeights)[]) {
    const t = views.get(prefix + LAYER_WEIGHT_NAMES[key]);
    if (!t) throw new Error(`internal: no view for ${prefix + LAYER_WEIGHT_NAMES[key]}`);
    out[key] = t;
  }
  return out as LayerWeights;
}
