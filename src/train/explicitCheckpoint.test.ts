import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../engine/runtime';
import { testGpu } from '../engine/testing/testGpu';
import { makeBatch } from '../model/batch';
import { loadCausalLM } from '../model/load';
import { fixtureSource } from '../model/testing/fixtures';
import { parseSafetensors } from '../model/safetensors/parse';
import { saveAdapter } from '../shadow/adapterIO';
import { shadowConfig } from '../shadow/config';
import { loadPretrainedShadow, readExplicitShadow } from '../shadow/explicitShadow';
import { ShadowOptimizer } from '../shadow/optimizer';
import { ShadowPeftModel } from '../shadow/shadowModel';
import { captureCheckpoint, restoreCheckpoint } from './checkpointState';
import { checkpointAdapterFiles } from './checkpointExport';
import { initialProgress } from './progress';
import { runConfig } from './runConfig';
import { scheduleState } from './schedule';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('checkpoints of an explicit shadow with frozen embeddings', () => {
  it('hold the table once (no moments for it), restore exactly, and export the same files as the live model', async () => {
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const explicit = await readExplicitShadow(fixtureSource('explicit-llama-w36'), { freezeEmbeddings: true });
    const config = runConfig({ id: 'qwen3-tiny', revision: null }, { shadow: shadowConfig({ injection_hidden_size: 4, gate_hidden_size: 3 }), explicitShadow: explicit });
    const model = await ShadowPeftModel.create(base, config.shadow, 1, explicit);
    await loadPretrainedShadow(model, fixtureSource('explicit-llama-w36'));
    const optimizer = await ShadowOptimizer.create(model);
    const batch = makeBatch([[7, 8, 9, 10, 11], [20, 21, 22, 23, 24]]);
    const ws = await model.createWorkspace(batch.B, batch.T);
    model.zeroGrads();
    await model.forwardBackward(ws, batch, Array.from(batch.inputIds), 0.05, null);
    await optimizer.apply({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, 1);

    const schedule = scheduleState({ kind: 'linear', peakLr: 1e-2, totalSteps: 10, warmupRatio: 0 });
    const ck = await captureCheckpoint(model, optimizer, { runId: 'frozen', config, datasetFingerprint: 'x', schedule, progress: initialProgress() });
    expect(Object.keys(ck.tensors.params)).toContain('shadow_model.embed_tokens.weight');
    expect(Object.keys(ck.tensors.m)).not.toContain('shadow_model.embed_tokens.weight');

    const again = await ShadowPeftModel.create(base, config.shadow, 99, explicit);
    const againOpt = await ShadowOptimizer.create(again);
    restoreCheckpoint(ck, again, againOpt);
    for (const s of model.specs) expect(Array.from(await gpu.read(again.params.byName.get(s.name)!)), s.name).toEqual(Array.from(await gpu.read(model.params.byName.get(s.name)!)));
    for (const s of model.trainableSpecs) expect(Array.from(await gpu.read(againOpt.v.byName.get(s.name)!)), s.name).toEqual(Array.from(await gpu.read(optimizer.v.byName.get(s.name)!)));
    expect(againOpt.step).toBe(1);

    const files = checkpointAdapterFiles(ck, base.config, gpu.caps.limits.maxStorageBufferBindingSize, 'F32');
    const live = await saveAdapter(model, { baseModelId: 'qwen3-tiny' });
    const tensorsOf = (bytes: Uint8Array) => [...parseSafetensors(bytes).tensors].map(([k, t]) => [k, Array.from(t.data)]);
    expect(files.configJson).toBe(live.configJson);
    expect(tensorsOf(files.safetensors)).toEqual(tensorsOf(live.safetensors));
    expect(parseSafetensors(files.safetensors).metadata.shadow_model_embeddings).toBe('frozen');
  });
});
