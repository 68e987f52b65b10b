import { rmsnormScratchElements } from '../engine/kernels/rmsnorm/rmsnorm';
import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import type { CausalLM, ModelWorkspace } from '../model/causalLM';
import type { LayerWorkspace } from '../model/layerWorkspace';
import { createLayerWorkspace, layerWorkspaceSizes } from '../model/layerWorkspace';
import { LossHead } from '../model/lossHead';
import type { SizeEntry } from '../model/memory';
import { shadowLayerDims } from './fromModel';
import type { ResolvedShadow } from './resolve';
import type { SlotWorkspace } from './slotWorkspace';
import { createSlotWorkspace, slotWorkspaceSizes } from './slotWorkspace';

/** Everything one training or evaluation pass of B×T tokens needs on the GPU. */
export interface ShadowWorkspace {
  B: number;
  T: number;
  base: ModelWorkspace;
  shadowLayer: LayerWorkspace;
  slot: SlotWorkspace;
  /**
   * hs[0] = embeddings, hs[ℓ] = residual stream entering layer ℓ (before injection), hs[L] = final
   * stream. These are the base workspace's own residual buffers (the base's plain forward, which
   * fills them, never runs on a ShadowPEFT workspace).
   */
  hs: Tensor[];
  /** states[k] = sᵏ, k = 0 … L−2 (the last slot's output is never read) */
  states: Tensor[];
  /** shadow backbone residual stream at each of its layer boundaries (N_s + 1), (N, C_s) */
  shadowRes: Tensor[];
  sx: Tensor; // (N, C_s) shadow backbone stream
  /** (N, C_s) the normed shadow output before the width projection; states[0] itself without one */
  sy: Tensor;
  /** (N, C_s) dL/d(sy) (= ds without a projection) and the shadow stream's gradient (= dx when C_s = C) */
  sdy: Tensor;
  sdx: Tensor;
  /** Token positions grouped by id, for the gradient of an explicit shadow's own embeddings. */
  idGroups: { unique: Tensor; offsets: Tensor; positions: Tensor } | null;
  xt: Tensor; // (N, C) recomputed injected stream h̃
  dh: Tensor; // (N, C) dL/d(final normed h)
  dx: Tensor; // (N, C) the backward's stream gradient (the base workspace's dx)
  ds: Tensor; // (N, C) gradient of the current state
  dsPrev: Tensor; // (N, C)
  dsCE: Tensor; // (N, C) λ · dL_shadow/ds⁰
  normScratch: Tensor; // the shadow's final RMSNorm backward
  baseLoss: LossHead;
  /** paired with baseLoss: one logits scratch and one upload of the targets serve both */
  shadowLoss: LossHead;
}

/**
 * The tensors createShadowWorkspace allocates itself (names as allocated). Besides them the
 * workspace holds the base model's training workspace and the base loss head with its dh, which
 * the model's own size tables count (memory.ts); see shadowWorkspaceSizes for the whole addition.
 */
function ownSizes(r: ResolvedShadow, B: number, T: number): SizeEntry[] {
  const N = B * T;
  const C = r.C;
  const Cs = r.backbone.C;
  const f32 = (name: string, width: number): SizeEntry => ({ name, shape: [N, width], dtype: 'f32' });
  const entries: SizeEntry[] = [];
  for (let k = 0; k < Math.max(r.L - 1, 1); k++) entries.push(f32(`s.${k}`, C));
  for (let i = 0; i <= r.backbone.N; i++) entries.push(f32(`shadow.res.${i}`, Cs));
  entries.push(f32('shadow.x', Cs));
  if (r.projection) entries.push(f32('shadow.y', Cs), f32('shadow.dy', Cs));
  if (Cs !== C) entries.push(f32('shadow.dx', Cs));
  if (r.ownEmbeddingRows !== null && !r.frozenEmbeddings) {
    entries.push({ name: 'shadow.ids.unique', shape: [N], dtype: 'u32' }, { name: 'shadow.ids.offsets', shape: [N + 1], dtype: 'u32' }, { name: 'shadow.ids.positions', shape: [N], dtype: 'u32' });
  }
  entries.push(f32('h.injected', C), f32('ds', C), f32('ds.prev', C), f32('ds.ce', C));
  entries.push({ name: 'shadow.norm.scratch', shape: [rmsnormScratchElements(N, Cs)], dtype: 'f32' });
  return entries;
}

/**
 * What a ShadowPEFT training workspace adds to the base model's training estimate (memory.ts:
 * layer and model workspaces, loss head with dh): the tensors above, the shadow layers' workspace,
 * the slot workspace, and the second loss head's losses (its logits scratch and targets are the first's).
 */
export function shadowWorkspaceSizes(r: ResolvedShadow, B: number, T: number): SizeEntry[] {
  const N = B * T;
  return [
    ...ownSizes(r, B, T),
    ...layerWorkspaceSizes(shadowLayerDims(r), B, T, true).map((e) => ({ name: `shadow.ws.${e.name}`, shape: e.shape, dtype: 'f32' as const })),
    ...slotWorkspaceSizes(r, N, true).map((e) => ({ name: `slot.${e.name}`, shape: e.shape, dtype: 'f32' as const })),
    { name: 'shadow.ce.lossPerRow', shape: [N], dtype: 'f32' },
    { name: 'shadow.ce.loss', shape: [1], dtype: 'f32' },
  ];
}

export async function createShadowWorkspace(gpu: Gpu, base: CausalLM, r: ResolvedShadow, B: number, T: number): Promise<ShadowWorkspace> {
  const N = B * T;
  const C = r.C;
  const V = base.config.vocabSize;
  const own = new Map<string, Tensor>();
  for (const e of ownSizes(r, B, T)) own.set(e.name, await gpu.createTensor(e.name, e.shape, e.dtype));
  const get = (name: string) => own.get(name)!;
  const baseWs = await base.createWorkspace(B, T, true);
  const baseLoss = await LossHead.create(gpu, N, C, V);
  const states = Array.from({ length: Math.max(r.L - 1, 1) }, (_, k) => get(`s.${k}`));
  const ds = get('ds');
  const dx = baseWs.dx!;
  return {
    B,
    T,
    base: baseWs,
    shadowLayer: await createLayerWorkspace(gpu, 'shadow.ws', shadowLayerDims(r), B, T, true),
    slot: await createSlotWorkspace(gpu, r, N, true),
    hs: baseWs.residuals!,
    states,
    shadowRes: Array.from({ length: r.backbone.N + 1 }, (_, i) => get(`shadow.res.${i}`)),
    sx: get('shadow.x'),
    sy: r.projection ? get('shadow.y') : states[0]!,
    sdy: r.projection ? get('shadow.dy') : ds,
    sdx: own.get('shadow.dx') ?? dx,
    idGroups: !own.has('shadow.ids.unique') ? null : { unique: get('shadow.ids.unique'), offsets: get('shadow.ids.offsets'), positions: get('shadow.ids.positions') },
    xt: get('h.injected'),
    dh: await gpu.createTensor('dh', [N, C]),
    dx,
    ds,
    dsPrev: get('ds.prev'),
    dsCE: get('ds.ce'),
    normScratch: get('shadow.norm.scratch'),
    baseLoss,
    shadowLoss: await LossHead.create(gpu, N, C, V, baseLoss),
  };
}

/** Frees every buffer of a workspace (the base model's workspace inside it too). */
export function destroyShadowWorkspace(gpu: Gpu, ws: ShadowWorkspace): void {
  const { baseLoss, shadowLoss, ...tensors } = ws;
  gpu.release(tensors);
  shadowLoss.destroy();
  baseLoss.destroy();
}
