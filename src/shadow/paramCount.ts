import type { BaseArchitecture } from './baseArchitecture';
import type { ShadowConfig } from './config';
import type { ResolvedShadow } from './resolve';
import { resolveShadow } from './resolve';

export interface ShadowParamBreakdown {
  /** shadow decoder layers + final RMSNorm (+ own embeddings of an explicit shadow) */
  backbone: number;
  /** injection_downs + injection_ups */
  injection: number;
  /** update gates + transforms + the shared LayerNorm */
  update: number;
  /** shadow_hidden_projection (explicit shadow of another width), else 0 */
  projection: number;
  /** trainable: backbone + injection + update + projection */
  total: number;
  /** an explicit shadow's frozen embeddings: saved in the file, not trained, not in the total */
  frozen: number;
}

/**
 * Trainable parameters from the sizes alone, by the closed formulas of docs/shadowpeft.md §9 (kept apart
 * from adapterFormat.ts on purpose, so that the tests can check one against the other):
 *   layer     = C·NH·HS + 2·C·NKV·HS + NH·HS·C + [qk norm] 2·HS + [qkv bias] (NH + 2·NKV)·HS + [o bias] C + 3·C·I + 2·C
 *   backbone  = N·layer + C   (+ V_s·C_s for an explicit shadow with its own embeddings)
 *   injection = (L−1)·2·C·R
 *   update    = (L−1)·4·C·G + 2·C
 * The shadow copies the base layer as it is, so a Qwen2 shadow carries q/k/v biases and only Qwen3
 * has q/k norms.
 */
export function shadowParamBreakdown(r: ResolvedShadow): ShadowParamBreakdown {
  const { C: Cs, NH, NKV, HS, I, N } = r.backbone;
  const b = r.backbone;
  const layer =
    Cs * NH * HS + 2 * Cs * NKV * HS + NH * HS * Cs +
    (b.qkNorm ? 2 * HS : 0) +
    (b.qkvBias ? (NH + 2 * NKV) * HS : 0) +
    (b.oBias ? Cs : 0) +
    3 * Cs * I + 2 * Cs;
  const embeddings = (r.ownEmbeddingRows ?? 0) * Cs;
  const frozen = r.frozenEmbeddings ? embeddings : 0;
  const backbone = N * layer + Cs + embeddings - frozen;
  const injection = r.slots * 2 * r.C * r.R;
  const update = r.slots * 4 * r.C * r.G + 2 * r.C;
  const projection = r.projection ? r.C * Cs : 0;
  return { backbone, injection, update, projection, total: backbone + injection + update + projection, frozen };
}

/** Trainable parameter count of an implicit shadow for a config on a base model. */
export function countShadowParams(config: ShadowConfig, base: BaseArchitecture): ShadowParamBreakdown {
  return shadowParamBreakdown(resolveShadow(config, base));
}

/** A linear layer of the base decoder that LoRA can target. */
export type LoraTarget = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
export const DEFAULT_LORA_TARGETS: readonly LoraTarget[] = ['q', 'k', 'v', 'o'];

/** LoRA parameters per unit of rank, over all L layers: rank r on Linear(in, out) costs r·(in + out). */
export function loraParamsPerRank(base: BaseArchitecture, targets: readonly LoraTarget[] = DEFAULT_LORA_TARGETS): number {
  const C = base.hiddenSize;
  const q = base.numHeads * base.headDim;
  const kv = base.numKvHeads * base.headDim;
  const I = base.intermediateSize;
  const inPlusOut: Record<LoraTarget, number> = { q: C + q, k: C + kv, v: C + kv, o: q + C, gate: C + I, up: C + I, down: I + C };
  const perLayer = [...new Set(targets)].reduce((s, t) => s + inPlusOut[t], 0);
  return base.numLayers * perLayer;
}

/** Parameters of LoRA with rank `rank` on `targets` of every layer. */
export function loraParamCount(base: BaseArchitecture, rank: number, targets: readonly LoraTarget[] = DEFAULT_LORA_TARGETS): number {
  return rank * loraParamsPerRank(base, targets);
}

/**
 * The LoRA rank with the same parameter budget as `trainable` parameters (fractional: round for
 * display). E.g. the §9 shadow on Qwen3-0.6B (9,073,920) ≈ LoRA r 31.6 on q/k/v/o.
 */
export function loraEquivalentRank(base: BaseArchitecture, trainable: number, targets: readonly LoraTarget[] = DEFAULT_LORA_TARGETS): number {
  const perRank = loraParamsPerRank(base, targets);
  return perRank === 0 ? 0 : trainable / perRank;
}
