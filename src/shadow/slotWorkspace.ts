import { layernormScratchElements } from '../engine/kernels/layernorm/layernorm';
import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import type { ResolvedShadow } from './resolve';

/** Scratch of one adapter slot's injection and update, forward and backward; N = B·T rows. */
export interface SlotWorkspace {
  delta: Tensor; // (N, C) h − s
  zPre: Tensor; // (N, R) δ·Wdown
  z: Tensor; // (N, R) dropout(zPre)
  u: Tensor; // (N, C) LayerNorm(h_next)
  t1: Tensor; // (N, G) u·Wt1ᵀ
  at: Tensor; // (N, G) SiLU(t1)
  atDrop: Tensor; // (N, G) dropout(at)
  t: Tensor; // (N, C) atDrop·Wt2ᵀ
  g1: Tensor; // (N, G)
  ag: Tensor; // (N, G) SiLU(g1)
  g2: Tensor; // (N, C)
  gamma: Tensor; // (N, C) sigmoid(g2)
  // backward
  dz: Tensor; // (N, R)
  dzPre: Tensor; // (N, R)
  dDelta: Tensor; // (N, C)
  du: Tensor; // (N, C)
  dt: Tensor; // (N, C)
  dGamma: Tensor; // (N, C)
  dAtDrop: Tensor; // (N, G)
  dAt: Tensor; // (N, G)
  dT1: Tensor; // (N, G)
  dG2: Tensor; // (N, C)
  dAg: Tensor; // (N, G)
  dG1: Tensor; // (N, G)
  lnScratch: Tensor;
}

/** The size table of createSlotWorkspace (f32 tensors, names as the SlotWorkspace fields). */
export function slotWorkspaceSizes(r: ResolvedShadow, N: number, withBackward: boolean): { name: keyof SlotWorkspace; shape: number[] }[] {
  const { C, R, G } = r;
  const sizes: Record<keyof SlotWorkspace, number[]> = {
    delta: [N, C], zPre: [N, R], z: [N, R], u: [N, C], t1: [N, G], at: [N, G], atDrop: [N, G], t: [N, C], g1: [N, G], ag: [N, G], g2: [N, C], gamma: [N, C],
    dz: [N, R], dzPre: [N, R], dDelta: [N, C], du: [N, C], dt: [N, C], dGamma: [N, C], dAtDrop: [N, G], dAt: [N, G], dT1: [N, G], dG2: [N, C], dAg: [N, G], dG1: [N, G],
    lnScratch: [layernormScratchElements(N, C)],
  };
  const backwardOnly = (name: string) => (name.startsWith('d') && name !== 'delta') || name === 'lnScratch';
  return (Object.entries(sizes) as [keyof SlotWorkspace, number[]][]).filter(([name]) => withBackward || !backwardOnly(name)).map(([name, shape]) => ({ name, shape }));
}

export async function createSlotWorkspace(gpu: Gpu, r: ResolvedShadow, N: number, withBackward: boolean): Promise<SlotWorkspace> {
  const out: Partial<SlotWorkspace> = {};
  for (const { name, shape } of slotWorkspaceSizes(r, N, withBackward)) out[name] = await gpu.createTensor(`slot.${name}`, shape);
  return out as SlotWorkspace;
}
