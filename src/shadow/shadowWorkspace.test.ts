import { beforeAll, describe, expect, it } from 'vitest';
import { byteSize } from '../engine/dtype';
import type { Gpu } from '../engine/runtime';
import { numel } from '../engine/tensor';
import { testGpu } from '../engine/testing/testGpu';
import { layerDimsOf } from '../model/layerDims';
import { layerWorkspaceSizes } from '../model/layerWorkspace';
import { loadCausalLM } from '../model/load';
import type { SizeEntry } from '../model/memory';
import { lossHeadSizes, modelWorkspaceSizes } from '../model/memory';
import { fixtureSource } from '../model/testing/fixtures';
import { shadowConfig } from './config';
import { readExplicitShadow } from './explicitShadow';
import { ShadowPeftModel } from './shadowModel';
import { shadowWorkspaceSizes } from './shadowWorkspace';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

/** Bytes of one buffer per entry, as Gpu.createTensor rounds them. */
const bufferBytes = (entries: readonly SizeEntry[]) => entries.reduce((sum, e) => sum + Math.max(4, Math.ceil(byteSize(e.dtype, numel(e.shape)) / 4) * 4), 0);

describe('ShadowPEFT workspace size table', () => {
  it.each([
    ['implicit', null],
    ['explicit, own embeddings, projection', 'explicit-llama-w36'],
    ['explicit, base embeddings', 'explicit-qwen2-w40'],
    ['explicit, frozen own embeddings (no id groups)', 'explicit-llama-w36:frozen'],
  ])('%s: the estimate counts exactly what createWorkspace allocates', async (_, explicitArg) => {
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const [explicitName, frozen] = explicitArg ? explicitArg.split(':') : [null, undefined];
    const explicit = explicitName ? await readExplicitShadow(fixtureSource(explicitName), { ownEmbeddings: explicitName === 'explicit-llama-w36', freezeEmbeddings: frozen === 'frozen' }) : null;
    const model = await ShadowPeftModel.create(base, shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3 }), 0, explicit);
    const [B, T] = [2, 5];
    let allocated = 0;
    const createBuffer = gpu.createBuffer.bind(gpu);
    gpu.createBuffer = (label: string, size: number, usage?: number) => {
      allocated += size;
      return createBuffer(label, size, usage);
    };
    try {
      await model.createWorkspace(B, T);
    } finally {
      gpu.createBuffer = createBuffer;
    }
    const c = base.config;
    const caps = { limits: gpu.caps.limits, features: gpu.caps.features };
    // The base model's training tables (its rope table is the model's, made once, not the workspace's) …
    const baseTables = [
      ...layerWorkspaceSizes(layerDimsOf(c), B, T, true).map((e) => ({ ...e, dtype: 'f32' as const })),
      ...modelWorkspaceSizes(c, B, T, true).filter((e) => e.name !== 'rope.inv_freq'),
      ...lossHeadSizes(c, B * T, caps, true),
    ];
    // … plus what the shadow adds.
    expect(allocated).toBe(bufferBytes(baseTables) + bufferBytes(shadowWorkspaceSizes(model.resolved, B, T)));
  });
});
