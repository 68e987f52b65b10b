import { Arena } from '../engine/arena';
import { StudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import type { LayerWeights } from '../model/layerWeights';
import { layerWeightsFrom } from '../model/layerWeights';
import type { AdapterTensorSpec } from './adapterFormat';
import { adapterTensors } from './adapterFormat';
import { ShadowErrorCode } from './errors';
import { shadowLayerDims } from './fromModel';
import type { ResolvedShadow } from './resolve';

export const DOWNS_KEY = 'shadow_injection_model.injection_downs';
export const UPS_KEY = 'shadow_injection_model.injection_ups';

/** One GPU tensor of the adapter. The stacked injection tensors of the file are one tensor per slot here. */
export interface GpuParamSpec {
  name: string;
  shape: number[];
  decay: boolean;
  /** The file key it lives under, and its slot in a stacked (L−1, …) file tensor. */
  fileKey: string;
  slot: number | null;
}

export function gpuParamSpecs(r: ResolvedShadow): GpuParamSpec[] {
  const out: GpuParamSpec[] = [];
  for (const t of adapterTensors(r)) {
    if (t.key === DOWNS_KEY || t.key === UPS_KEY) {
      for (let k = 0; k < r.slots; k++) out.push({ name: `${t.key}.${k}`, shape: t.shape.slice(1), decay: t.decay, fileKey: t.key, slot: k });
    } else out.push({ name: t.key, shape: [...t.shape], decay: t.decay, fileKey: t.key, slot: null });
  }
  return out;
}

/** One adapter slot's weights. Downs/ups are used as δ·Wdown and z·Wup (not torch layout). */
export interface SlotWeights {
  down: Tensor; // (C, R)
  up: Tensor; // (R, C)
  g1: Tensor; // (G, C) update_gates.k.0
  g2: Tensor; // (C, G) update_gates.k.2
  t1: Tensor; // (G, C) update_transforms.k.0
  t2: Tensor; // (C, G) update_transforms.k.3
}

/** Every adapter tensor on the GPU, by role. The same shape holds parameters, gradients and moments. */
export interface ShadowTensors {
  byName: Map<string, Tensor>;
  layers: LayerWeights[];
  norm: Tensor; // (C) shadow_model.norm
  slots: SlotWeights[];
  lnW: Tensor; // (C) shadow_update_model.hidden_norm.weight
  lnB: Tensor; // (C)
  /** The distinct buffers, for zeroing all gradients at once. */
  buffers: GPUBuffer[];
}

export async function allocateShadowTensors(gpu: Gpu, r: ResolvedShadow, label: string): Promise<ShadowTensors> {
  if (r.projection || r.ownEmbeddingRows !== null) {
    throw new StudioError(ShadowErrorCode.unsupportedOnGpu, 'explicit shadow models (own embeddings or a width projection) are not supported on the GPU yet', 'use an implicit shadow (the default), which shares the base embeddings');
  }
  if (r.backbone.oBias) throw new StudioError(ShadowErrorCode.unsupportedOnGpu, 'shadow layers with an o_proj bias (Llama attention_bias) are not supported', 'use a base model without attention_bias');
  const arena = new Arena(label);
  for (const s of gpuParamSpecs(r)) arena.add(s.name, s.shape);
  const byName = await arena.allocate(gpu);
  const get = (n: string) => {
    const t = byName.get(n);
    if (!t) throw new Error(`internal: no adapter tensor ${n}`);
    return t;
  };
  const dims = shadowLayerDims(r);
  const slots: SlotWeights[] = [];
  for (let k = 0; k < r.slots; k++) {
    slots.push({
      down: get(`${DOWNS_KEY}.${k}`),
      up: get(`${UPS_KEY}.${k}`),
      g1: get(`shadow_update_model.update_gates.${k}.0.weight`),
      g2: get(`shadow_update_model.update_gates.${k}.2.weight`),
      t1: get(`shadow_update_model.update_transforms.${k}.0.weight`),
      t2: get(`shadow_update_model.update_transforms.${k}.3.weight`),
    });
  }
  return {
    byName,
    layers: Array.from({ length: r.backbone.N }, (_, i) => layerWeightsFrom(byName, `shadow_model.layers.${i}.`, dims)),
    norm: get('shadow_model.norm.weight'),
    slots,
    lnW: get('shadow_update_model.hidden_norm.weight'),
    lnB: get('shadow_update_model.hidden_norm.bias'),
    buffers: [...new Set([...byName.values()].map((t) => t.buffer))],
  };
}

export type { AdapterTensorSpec };
