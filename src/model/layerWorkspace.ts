import { Arena } from '../engine/arena';
import { rmsnormScratchElements } from '../engine/kernels/rmsnorm/rmsnorm';
import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import type { LayerDims } from './layerDims';

/**
 * Scratch tensors of one decoder layer for a batch of B sequences of T tokens (N = B·T rows). One
 * workspace serves every layer of the same shape: layers run one after another, and the backward
 * recomputes a layer's internals into it just before using them.
 */
export interface LayerWorkspace {
  B: number;
  T: number;
  x: Tensor; // (N, C) the layer's input, copied here when recomputing
  a: Tensor; // (N, C) normed input of attention, then of the MLP
  qPre: Tensor; // (N, NH·HS) q before q-norm (Qwen3), else unused
  kPre: Tensor; // (N, NKV·HS)
  q: Tensor; // (N, NH·HS) after norm and RoPE
  k: Tensor; // (N, NKV·HS)
  v: Tensor; // (N, NKV·HS)
  attn: Tensor; // (N, NH·HS) attention output
  lse: Tensor; // (B, NH, T)
  /** (N, C) residual after attention, kept for the backward (absent in forward-only workspaces) */
  xMid?: Tensor;
  gate: Tensor; // (N, I)
  up: Tensor; // (N, I)
  act: Tensor; // (N, I) silu(gate) ⊙ up
  // backward
  da: Tensor; // (N, C)
  dq: Tensor; // (N, NH·HS)
  dqPre: Tensor; // (N, NH·HS)
  dk: Tensor; // (N, NKV·HS)
  dkPre: Tensor; // (N, NKV·HS)
  dv: Tensor; // (N, NKV·HS)
  dattn: Tensor; // (N, NH·HS)
  delta: Tensor; // (B, NH, T)
  dgate: Tensor; // (N, I)
  dup: Tensor; // (N, I)
  dact: Tensor; // (N, I)
  normScratch: Tensor; // rmsnorm backward partials
  /** dweight sink of frozen norms: their gradient is computed by the kernel and thrown away. */
  frozenDw: Tensor; // (max(C, HS))
  /** (N) ones, for bias gradients as onesᵀ·dy */
  ones: Tensor;
}

/** Tensors only a backward needs: forward-only workspaces (inference, generation) leave them out. */
const BACKWARD_ONLY = new Set(['xMid', 'da', 'dq', 'dqPre', 'dk', 'dkPre', 'dv', 'dattn', 'delta', 'dgate', 'dup', 'dact', 'normScratch', 'frozenDw', 'ones']);

/** The size table of a layer workspace: the memory estimate and the allocation both read it. */
export function layerWorkspaceSizes(d: LayerDims, B: number, T: number, withBackward: boolean): { name: string; shape: number[] }[] {
  const N = B * T;
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const all: { name: string; shape: number[] }[] = [
    { name: 'x', shape: [N, d.hidden] },
    { name: 'a', shape: [N, d.hidden] },
    { name: 'qPre', shape: [N, d.qkNorm ? q : 1] },
    { name: 'kPre', shape: [N, d.qkNorm ? kv : 1] },
    { name: 'q', shape: [N, q] },
    { name: 'k', shape: [N, kv] },
    { name: 'v', shape: [N, kv] },
    { name: 'attn', shape: [N, q] },
    { name: 'lse', shape: [B, d.heads, T] },
    { name: 'xMid', shape: [N, d.hidden] },
    { name: 'gate', shape: [N, d.intermediate] },
    { name: 'up', shape: [N, d.intermediate] },
    { name: 'act', shape: [N, d.intermediate] },
    { name: 'da', shape: [N, d.hidden] },
    { name: 'dq', shape: [N, q] },
    { name: 'dqPre', shape: [N, d.qkNorm ? q : 1] },
    { name: 'dk', shape: [N, kv] },
    { name: 'dkPre', shape: [N, d.qkNorm ? kv : 1] },
    { name: 'dv', shape: [N, kv] },
    { name: 'dattn', shape: [N, q] },
    { name: 'delta', shape: [B, d.heads, T] },
    { name: 'dgate', shape: [N, d.intermediate] },
    { name: 'dup', shape: [N, d.intermediate] },
    { name: 'dact', shape: [N, d.intermediate] },
    { name: 'normScratch', shape: [Math.max(rmsnormScratchElements(N, d.hidden), rmsnormScratchElements(N * d.heads, d.headDim))] },
    { name: 'frozenDw', shape: [Math.max(d.hidden, d.headDim)] },
    { name: 'ones', shape: [N] },
  ];
  return withBackward ? all : all.filter((e) => !BACKWARD_ONLY.has(e.name));
}

export async function createLayerWorkspace(gpu: Gpu, label: string, d: LayerDims, B: number, T: number, withBackward: boolean): Promise<LayerWorkspace> {
  const arena = new Arena(label, { packed: false });
  for (const e of layerWorkspaceSizes(d, B, T, withBackward)) arena.add(e.name, e.shape);
  const views = await arena.allocate(gpu);
  const ws = Object.fromEntries(views) as unknown as LayerWorkspace;
  if (withBackward) gpu.write(ws.ones, new Float32Array(B * T).fill(1));
  return { ...ws, B, T };
}
