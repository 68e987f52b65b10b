import { StudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import { CausalLM } from './causalLM';
import type { ModelConfig } from './config';
import { ModelErrorCode } from './errors';
import { modelConfigFromHf } from './families/registry';
import type { HfConfig } from './families/hfConfig';
import type { LoadProgress, StorageChoice } from './loadWeights';
import { loadWeights } from './loadWeights';
import type { MemoryBudget } from './memory';
import { checkModelLoadable } from './memory';
import type { ModelSource } from './sources/source';
import { readJsonObject } from './sources/source';

/** Reads and maps config.json of a source. */
export async function readModelConfig(source: ModelSource): Promise<ModelConfig> {
  const json = await readJsonObject(source, 'config.json');
  if (json === null) throw new StudioError(ModelErrorCode.badConfig, `${source.id}: no config.json`, 'a model folder must hold config.json, the safetensors weights and tokenizer.json, as on the Hub');
  try {
    return modelConfigFromHf(json as HfConfig);
  } catch (e) {
    // Name the model as well as the key: 'config.json: …' alone does not say which folder.
    if (e instanceof StudioError) throw new StudioError(e.code, e.detail.startsWith('config.json') ? `${source.id}/${e.detail}` : `${source.id}/config.json: ${e.detail}`, e.hint);
    throw e;
  }
}

/**
 * config.json → the memory estimate against the device → weights on the GPU → a CausalLM. Nothing is
 * allocated before the estimate passes (memory.ts checkModelLoadable); a failure frees what it took.
 */
export async function loadCausalLM(gpu: Gpu, source: ModelSource, opts: { storage?: StorageChoice; onProgress?: (p: LoadProgress) => void; budget?: MemoryBudget } = {}): Promise<CausalLM> {
  const config = await readModelConfig(source);
  checkModelLoadable(config, gpu.caps, { id: source.id, storage: opts.storage, budget: opts.budget });
  const weights = await loadWeights(gpu, source, config, opts);
  try {
    return await CausalLM.create(gpu, config, weights);
  } catch (e) {
    gpu.release([[...weights.views.values()]]);
    throw e;
  }
}
