import { Arena } from '../engine/arena';
import { StudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import type { RowPart, Tensor } from '../engine/tensor';
import type { LayerWeights } from '../model/layerWeights';
import { layerWeightsFrom } from '../model/layerWeights';
import type { AdapterTensorSpec } from './adapterFormat';
import { adapterTensors, numelOf } from './adapterFormat';
import { ShadowErrorCode } from './errors';
import { shadowLayerDims } from './fromModel';
import type { ResolvedShadow } from './resolve';

export const DOWNS_KEY = 'shadow_injection_model.injection_downs';
export const UPS_KEY = 'shadow_injection_model.injection_ups';

export const EMBED_KEY = 'shadow_model.embed_tokens.weight';
export const PROJECTION_KEY = 'shadow_hidden_projection.weight';

/**
 * One GPU tensor of the adapter: a whole file tensor, or a contiguous piece of one. The stacked
 * injection tensors of the file are one tensor per slot here, and an explicit shadow's own embedding
 * table is split by rows when one binding cannot hold it.
 */
export interface GpuParamSpec {
  name: string;
  shape: number[];
  decay: boolean;
  /** The file key it lives under, and where in that file tensor it starts (elements). */
  fileKey: string;
  fileOffset: number;
  /** For a row part of the embedding table: its first row in the whole table. */
  rowStart?: number;
  /** Has a gradient and AdamW moments (false: an explicit shadow's frozen embeddings). */
  trainable: boolean;
}

/**
 * WebGPU guarantees every device a storage binding of at least 128 MiB. Row parts are cut at that size
 * (or at a smaller test limit) rather than at the device's own limit, so that the GPU tensors — and the
 * checkpoint entries named after them — are the same on every real device.
 */
export const PORTABLE_BINDING_BYTES = 128 * 2 ** 20;

/** The GPU tensors of an adapter on a device whose bindings hold at most `maxBindingBytes`. */
export function gpuParamSpecs(r: ResolvedShadow, maxBindingBytes = Number.POSITIVE_INFINITY): GpuParamSpec[] {
  const partBytes = Math.min(maxBindingBytes, PORTABLE_BINDING_BYTES);
  const out: GpuParamSpec[] = [];
  for (const t of adapterTensors(r)) {
    const whole = { name: t.key, shape: [...t.shape], decay: t.decay, fileKey: t.key, fileOffset: 0, trainable: t.trainable };
    if (t.key === DOWNS_KEY || t.key === UPS_KEY) {
      const n = numelOf(t.shape.slice(1));
      for (let k = 0; k < r.slots; k++) out.push({ ...whole, name: `${t.key}.${k}`, shape: t.shape.slice(1), fileOffset: k * n });
    } else if (t.key === EMBED_KEY) {
      const [rows, cols] = t.shape as [number, number];
      const per = Math.max(1, Math.min(rows, Math.floor(partBytes / (4 * cols))));
      if (per >= rows) out.push({ ...whole, rowStart: 0 });
      else for (let r0 = 0; r0 < rows; r0 += per) out.push({ ...whole, name: `${t.key}.rows${r0}`, shape: [Math.min(per, rows - r0), cols], fileOffset: r0 * cols, rowStart: r0 });
    } else out.push(whole);
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
  /** Explicit shadow with its own token embeddings: (V_s, C_s), split by rows when one binding cannot hold it. */
  embed: RowPart[] | null;
  /** Explicit shadow of another width: shadow_hidden_projection (C, C_s), s⁰ = y · Pᵀ. */
  projection: Tensor | null;
  /** The distinct buffers, for zeroing all gradients at once. */
  buffers: GPUBuffer[];
}

/**
 * One set of adapter-shaped tensors: the parameters (every tensor), or with `trainableOnly` the
 * gradients or an AdamW moment (frozen tensors have none: their entries are absent / null).
 */
export async function allocateShadowTensors(gpu: Gpu, r: ResolvedShadow, label: string, opts: { trainableOnly?: boolean } = {}): Promise<ShadowTensors> {
  if (r.backbone.oBias) throw new StudioError(ShadowErrorCode.unsupportedOnGpu, 'shadow layers with an o_proj bias (Llama attention_bias) are not supported', 'use a base model without attention_bias');
  const specs = gpuParamSpecs(r, gpu.caps.limits.maxStorageBufferBindingSize).filter((s) => s.trainable || !opts.trainableOnly);
  const arena = new Arena(label);
  for (const s of specs) arena.add(s.name, s.shape);
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
    embed: embedParts(specs, get),
    projection: r.projection ? get(PROJECTION_KEY) : null,
    buffers: [...new Set([...byName.values()].map((t) => t.buffer))],
  };
}

/** The embedding table's row parts in a set, or null when the set has none (implicit shadow, or frozen embeddings' gradients). */
function embedParts(specs: readonly GpuParamSpec[], get: (name: string) => Tensor): RowPart[] | null {
  const parts = specs.filter((s) => s.fileKey === EMBED_KEY).map((s) => ({ tensor: get(s.name), rowStart: s.rowStart!, rows: s.shape[0]! }));
  return parts.length ? parts : null;
}

export type { AdapterTensorSpec };
