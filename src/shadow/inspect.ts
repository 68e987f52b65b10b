import { subForward } from '../engine/kernels/elementwise/elementwise';
import { rowCosine, rowNormMean } from '../engine/kernels/rowstats/rowstats';
import type { Tensor } from '../engine/tensor';
import { makeBatch } from '../model/batch';
import type { ShadowPeftModel, ShadowWorkspace } from './shadowModel';
import { destroyShadowWorkspace } from './shadowWorkspace';

export type LayerStat = 'hNorm' | 'sNorm' | 'cosHS' | 'injection' | 'gateMean' | 'updateSize';
export const LAYER_STATS: readonly LayerStat[] = ['hNorm', 'sNorm', 'cosHS', 'injection', 'gateMean', 'updateSize'];

/**
 * Per adapter slot k (injection before base layer k+1) and token, computed on the GPU; only these
 * (L−1)·T numbers per statistic are read back:
 * hNorm ‖h‖ and sNorm ‖sᵏ‖ (the stream and the state entering the slot), cosHS cos(h, sᵏ),
 * injection ‖α·Δ‖/‖h‖, gateMean mean(γ), updateSize ‖sᵏ⁺¹ − sᵏ‖ (0 for the last slot, whose update
 * nothing reads).
 */
export async function inspectLayerStates(model: ShadowPeftModel, tokens: readonly number[], ws?: ShadowWorkspace): Promise<LayerStatesResult> {
  if (ws) return statesIn(model, tokens, ws);
  // A workspace made here is freed here; a caller's (the training probe's) is the caller's.
  const own = await model.createWorkspace(1, tokens.length);
  try {
    return await statesIn(model, tokens, own);
  } finally {
    destroyShadowWorkspace(model.gpu, own);
  }
}

type LayerStatesResult = { slots: number; T: number; stats: Record<LayerStat, Float32Array> };

async function statesIn(model: ShadowPeftModel, tokens: readonly number[], space: ShadowWorkspace): Promise<LayerStatesResult> {
  const gpu = model.gpu;
  const T = tokens.length;
  const C = model.resolved.C;
  const slots = model.resolved.slots;
  const out: Record<LayerStat, Tensor[]> = Object.fromEntries(await Promise.all(LAYER_STATS.map(async (s) => [s, await Promise.all(Array.from({ length: slots }, (_, k) => gpu.createTensor(`inspect.${s}.${k}`, [T])))]))) as Record<LayerStat, Tensor[]>;
  const scratchMean = await gpu.createTensor('inspect.mean', [T]);
  const scratchNorm = await gpu.createTensor('inspect.norm', [T]);
  const diff = await gpu.createTensor('inspect.diff', [T, C]);
  try {
    for (const k of [slots - 1]) gpu.zero(out.updateSize[k]!);
    for (const k of [slots - 1]) gpu.zero(out.gateMean[k]!);
    model.forward(space, makeBatch([tokens]), null, undefined, 'base_shadow', {
      afterInject(k, injected) {
        const h = space.hs[k + 1]!;
        const s = space.states[k]!;
        rowNormMean(gpu, h, out.hNorm[k]!, scratchMean, T, C);
        rowNormMean(gpu, s, out.sNorm[k]!, scratchMean, T, C);
        rowCosine(gpu, h, s, out.cosHS[k]!, T, C);
        // ‖h̃ − h‖ here; divided by ‖h‖ after readback (the kernels refuse one tensor bound twice).
        subForward(gpu, injected, h, diff, T * C);
        rowNormMean(gpu, diff, out.injection[k]!, scratchMean, T, C);
      },
      afterUpdate(k) {
        rowNormMean(gpu, space.slot.gamma, scratchNorm, out.gateMean[k]!, T, C);
        subForward(gpu, space.states[k + 1]!, space.states[k]!, diff, T * C);
        rowNormMean(gpu, diff, out.updateSize[k]!, scratchMean, T, C);
      },
    });
    const stats = {} as Record<LayerStat, Float32Array>;
    for (const s of LAYER_STATS) {
      const all = new Float32Array(slots * T);
      for (let k = 0; k < slots; k++) all.set(await gpu.read(out[s][k]!), k * T);
      stats[s] = all;
    }
    stats.injection = stats.injection.map((v, i) => (stats.hNorm[i]! > 0 ? v / stats.hNorm[i]! : 0));
    return { slots, T, stats };
  } finally {
    gpu.release([scratchMean, scratchNorm, diff, out]);
  }
}
