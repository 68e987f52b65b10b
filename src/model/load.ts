import { StudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import { CausalLM } from './causalLM';
import type { ModelConfig } from './config';
import { ModelErrorCode } from './errors';
import { modelConfigFromHf } from './families/registry';
import type { HfConfig } from './families/hfConfig';
import type { LoadProgress, StorageChoice } from './loadWeights';
import { loadWeights } from './loadWeights';
import type { ModelSource } from './sources/source';
import { readJson } from './sources/source';

/** Reads and maps config.json of a source. */
export async function readModelConfig(source: ModelSource): Promise<ModelConfig> {
  let json: unknown;
  try {
    json = await readJson(source, 'config.json');
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw new StudioError(ModelErrorCode.badConfig, `${source.id}: config.json is not valid JSON (${String(e)})`, 'download the model again');
  }
  if (json === null) throw new StudioError(ModelErrorCode.badConfig, `${source.id}: no config.json`, 'a model folder must hold config.json, the safetensors weights and tokenizer.json, as on the Hub');
  if (typeof json !== 'object' || Array.isArray(json)) throw new StudioError(ModelErrorCode.badConfig, `${source.id}: config.json is not a JSON object`);
  return modelConfigFromHf(json as HfConfig);
}

/** config.json → weights on the GPU → a CausalLM. */
export async function loadCausalLM(gpu: Gpu, source: ModelSource, opts: { storage?: StorageChoice; onProgress?: (p: LoadProgress) => void } = {}): Promise<CausalLM> {
  const config = await readModelConfig(source);
  const weights = await loadWeights(gpu, source, config, opts);
  return CausalLM.create(gpu, config, weights);
}
