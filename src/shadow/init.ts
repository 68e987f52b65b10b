import { mulberry32, normalFrom } from '../engine/random';
import type { Gpu } from '../engine/runtime';
import { numel } from '../engine/tensor';
import type { GpuParamSpec } from './shadowParams';
import { PROJECTION_KEY } from './shadowParams';
import type { ShadowTensors } from './shadowParams';

/** Seeded uniform and normal draws: the same seed gives the same fresh adapter everywhere. */
function makeRandom(seed: number) {
  const next = mulberry32(seed);
  return { next, normal: () => normalFrom(next) };
}

/**
 * docs/shadowpeft.md §4, the code's initialisation: Wdown ~ N(0, 0.02²) and Wup = 0 (a fresh adapter
 * reproduces the base exactly); update linears uniform(±1/√fan_in) as nn.Linear; LayerNorm 1 / 0;
 * shadow layers as HF inits a new model: linear weights and embeddings N(0, 0.02²), biases 0, norm
 * weights 1. An explicit shadow's width projection is an nn.Linear too: uniform(±1/√C_s).
 * (A pretrained explicit shadow then overwrites its backbone: see explicitShadow.ts.)
 */
export function initialValues(spec: GpuParamSpec, random: ReturnType<typeof makeRandom>): Float32Array {
  const n = numel(spec.shape);
  const out = new Float32Array(n);
  const name = spec.name;
  if (name.includes('injection_ups')) return out;
  if (name.includes('injection_downs')) return out.map(() => 0.02 * random.normal());
  if (name.startsWith('shadow_update_model.update_') || name === PROJECTION_KEY) {
    const bound = 1 / Math.sqrt(spec.shape[1]!);
    return out.map(() => (2 * random.next() - 1) * bound);
  }
  if (name === 'shadow_update_model.hidden_norm.weight') return out.fill(1);
  if (name === 'shadow_update_model.hidden_norm.bias') return out;
  if (/norm\.weight$/.test(name) || /layernorm\.weight$/.test(name)) return out.fill(1);
  if (name.endsWith('.bias')) return out;
  return out.map(() => 0.02 * random.normal());
}

/** Writes a fresh, seeded adapter into the parameter tensors. */
export function initializeShadow(gpu: Gpu, specs: readonly GpuParamSpec[], params: ShadowTensors, seed: number): void {
  const random = makeRandom(seed);
  for (const spec of specs) gpu.write(params.byName.get(spec.name)!, initialValues(spec, random));
}
