import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import { loadCausalLM } from '../model/load';
import { FIXTURES_DIR, fixtureSource, loadGolden } from '../model/testing/fixtures';
import { loadAdapter } from './adapterIO';
import { inspectLayerStates } from './inspect';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const norm = (v: Float32Array) => Math.hypot(...v);

describe('layer-state inspection', () => {
  it('matches statistics recomputed on the CPU from the PyTorch fixture states', async () => {
    const name = 'shadow-qwen3-tiny';
    const g = loadGolden(name);
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const dir = join(FIXTURES_DIR, name);
    const { model } = await loadAdapter(base, { configJson: readFileSync(join(dir, 'shadow_config.json'), 'utf8'), safetensors: new Uint8Array(readFileSync(join(dir, 'shadow_adapter.safetensors'))) });
    const T = 7;
    const C = 40;
    const ids = Array.from(g.tensors.get('input_ids')!.subarray(0, T));
    const r = await inspectLayerStates(model, ids);
    expect(r.slots).toBe(2);
    for (const k of [0, 1]) {
      const h = g.tensors.get(`hidden_states.${k + 1}`)!;
      const s = g.tensors.get(`state.${k}`)!;
      for (let t = 0; t < T; t++) {
        const hv = h.subarray(t * C, (t + 1) * C);
        const sv = s.subarray(t * C, (t + 1) * C);
        expect(r.stats.hNorm[k * T + t]!).toBeCloseTo(norm(hv), 3);
        expect(r.stats.sNorm[k * T + t]!).toBeCloseTo(norm(sv), 3);
        const cos = hv.reduce((a, x, i) => a + x * sv[i]!, 0) / (norm(hv) * norm(sv));
        expect(r.stats.cosHS[k * T + t]!).toBeCloseTo(cos, 3);
      }
    }
    // Slot 0 updates s⁰ → s¹; its size is ‖s¹ − s⁰‖. The last slot's update is never computed.
    const s0 = g.tensors.get('state.0')!;
    const s1 = g.tensors.get('state.1')!;
    expect(r.stats.updateSize[0]!).toBeCloseTo(norm(s1.subarray(0, C).map((x, i) => x - s0[i]!)), 3);
    expect(r.stats.updateSize[T]!).toBe(0);
    for (const stat of Object.values(r.stats)) expect(stat.every(Number.isFinite)).toBe(true);
    expect(r.stats.injection.some((x) => x > 0)).toBe(true);
    expect(r.stats.gateMean.slice(0, T).every((x) => x > 0 && x < 1)).toBe(true);
  });
});
