/**
 * Inspect and the logit lens: what the network does with a prompt, layer by layer, with the session's
 * adapter or (before one exists) a fresh identity adapter made and freed per call.
 */
import { StudioError } from '../src/engine/errors';
import { shadowConfig } from '../src/shadow/config';
import { inspectLayerStates, LAYER_STATS } from '../src/shadow/inspect';
import { logitLens } from '../src/shadow/logitLens';
import { ShadowPeftModel } from '../src/shadow/shadowModel';
import type { LayerStates, LogitLensView } from './api';
import { promptIds } from './generateCommands';
import { requireModel, session } from './session';

/**
 * Runs `use` on the session's adapter or, without one, on a fresh adapter (the identity: the base
 * unchanged) made for this call and freed after it.
 */
async function withShadow<T>(use: (shadow: ShadowPeftModel) => Promise<T>): Promise<T> {
  if (session.shadow) return use(session.shadow);
  const fresh = await ShadowPeftModel.create(requireModel().model, shadowConfig());
  try {
    return await use(fresh);
  } finally {
    fresh.destroy();
  }
}

/** Layer × token statistics of a prompt; without a trained adapter, a fresh one (the identity) is used. */
export async function inspect(prompt: string): Promise<LayerStates> {
  const { tokenizer } = requireModel();
  const ids = promptIds(prompt, false).slice(0, 256);
  if (ids.length === 0) throw new StudioError('E504', 'the prompt is empty', 'type a prompt first');
  const r = await withShadow((shadow) => inspectLayerStates(shadow, ids));
  const stats = Object.fromEntries(LAYER_STATS.map((s) => [s, Array.from(r.stats[s])])) as LayerStates['stats'];
  return { tokens: ids.map((id) => tokenizer.decode([id])), layers: r.slots, stats };
}

export async function lens(prompt: string, token: number, k: number): Promise<LogitLensView> {
  const { tokenizer } = requireModel();
  const ids = promptIds(prompt, false).slice(0, 256);
  if (token < 0 || token >= ids.length) throw new StudioError('E508', `token ${token} is outside the prompt's ${ids.length} tokens`, 'select a cell of the heatmaps again');
  const r = await withShadow((shadow) => logitLens(shadow, ids, token, k));
  const view = (list: { id: number; prob: number }[]) => list.map((e) => ({ text: tokenizer.decode([e.id]), prob: e.prob }));
  return { token, layers: r.layers.map((l) => ({ baseOff: view(l.baseOff), baseOn: view(l.baseOn), shadow: view(l.shadow) })) };
}
