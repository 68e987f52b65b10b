import type { Tensor } from '../engine/tensor';
import { rowsView } from '../engine/tensor';
import { makeBatch } from '../model/batch';
import type { Stepper } from '../model/generate';
import { KvCache } from '../model/kvCache';
import type { ShadowPeftModel, ShadowWorkspace } from './shadowModel';
import { destroyShadowWorkspace } from './shadowWorkspace';

/** How a ShadowPEFT model decodes: the base with the shadow (§7 default) or the detached shadow alone. */
export type ShadowMode = 'base_shadow' | 'shadow_only';

/** Logits of the last fed token: the base head on the final stream, or on s⁰ for the detached shadow. */
async function lastLogits(model: ShadowPeftModel, ws: ShadowWorkspace, logits: Tensor, T: number, mode: ShadowMode): Promise<Float32Array> {
  const base = model.base;
  const V = base.config.vocabSize;
  base.logits(mode === 'shadow_only' ? ws.states[0]! : ws.base.h, logits, T);
  return model.gpu.read(rowsView(logits, T - 1, 1, V));
}

/**
 * Cached ShadowPEFT decoding (the reference package turns the cache off; docs/shadowpeft.md §7 shows why
 * it is valid): one base cache of L layers and one shadow cache of N_s layers. The shadow_only mode
 * runs no base layer at all.
 */
export async function shadowCachedStepper(model: ShadowPeftModel, maxT: number, mode: ShadowMode): Promise<Stepper> {
  const ws = await model.createWorkspace(1, maxT);
  const logits = await model.gpu.createTensor('shadow.gen.logits', [maxT, model.base.config.vocabSize]);
  const caches = {
    base: await KvCache.create(model.gpu, 'kv.base', model.base.config.numLayers, model.base.dims, maxT),
    shadow: await KvCache.create(model.gpu, 'kv.shadow', model.resolved.backbone.N, model.dims, maxT),
  };
  return {
    cached: true,
    maxT,
    reset: () => {
      caches.base.reset();
      caches.shadow.reset();
    },
    release: () => {
      destroyShadowWorkspace(model.gpu, ws);
      model.gpu.release(logits);
      caches.base.destroy();
      caches.shadow.destroy();
    },
    async step(tokens) {
      const T = tokens.length;
      const batch = makeBatch([tokens]);
      batch.positionIds.forEach((_, i) => (batch.positionIds[i] = caches.base.length + i));
      caches.base.reserve(T);
      caches.shadow.reserve(T);
      model.forward(ws, batch, null, caches, mode);
      caches.base.length += T;
      caches.shadow.length += T;
      return lastLogits(model, ws, logits, T, mode);
    },
  };
}

/** Uncached ShadowPEFT decoding: the whole sequence every step (the reference for the cached one). */
export async function shadowUncachedStepper(model: ShadowPeftModel, maxT: number, mode: ShadowMode): Promise<Stepper> {
  const ws = await model.createWorkspace(1, maxT);
  const logits = await model.gpu.createTensor('shadow.gen.logits', [maxT, model.base.config.vocabSize]);
  return {
    cached: false,
    maxT,
    reset: () => undefined,
    release: () => {
      destroyShadowWorkspace(model.gpu, ws);
      model.gpu.release(logits);
    },
    async step(tokens) {
      const batch = makeBatch([tokens]);
      model.forward(ws, batch, null, undefined, mode);
      return lastLogits(model, ws, logits, batch.T, mode);
    },
  };
}
