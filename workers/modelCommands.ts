import { parameterCount } from '../src/model/config';
import type { ModelConfig } from '../src/model/config';
import { loadCausalLM, readModelConfig } from '../src/model/load';
import { checkpointFiles } from '../src/model/loadWeights';
import { estimateFits, estimateMemory, fitSuggestion } from '../src/model/memory';
import { filesSource } from '../src/model/sources/filesSource';
import { hubSource } from '../src/model/sources/hubSource';
import type { ModelSource } from '../src/model/sources/source';
import { readJson } from '../src/model/sources/source';
import { urlSource } from '../src/model/sources/urlSource';
import { loadTokenizer } from '../src/model/tokenizer';
import { formatBytes } from '../src/engine/runtime';
import { StudioError } from '../src/engine/errors';
import type { Capabilities } from '../src/engine/device';
import type { LoadedModel, ModelInfo, ModelSourceSpec } from './api';
import { getGpu, session, unloadModel } from './session';

export function sourceOf(spec: ModelSourceSpec): ModelSource {
  if (spec.kind === 'hub') return hubSource(spec.repo, spec.revision ?? 'main');
  if (spec.kind === 'files') return filesSource(spec.name, spec.files);
  const url = new URL(spec.url, (globalThis as { location?: { href: string } }).location?.href);
  return urlSource(url.toString(), spec.label ?? spec.url);
}

/** Bytes of the checkpoint: the index's total_size, or the picked files' sizes; null when unknown. */
async function downloadBytes(spec: ModelSourceSpec, source: ModelSource): Promise<number | null> {
  if (spec.kind === 'files') {
    const files = new Set(await checkpointFiles(source));
    return spec.files.filter((f) => files.has(f.path.split('/').slice(-1)[0]!)).reduce((a, f) => a + f.file.size, 0) || null;
  }
  const index = (await readJson(source, 'model.safetensors.index.json').catch(() => null)) as { metadata?: { total_size?: number } } | null;
  return index?.metadata?.total_size ?? null;
}

function infoOf(source: ModelSource, c: ModelConfig, caps: Capabilities, bytes: number | null): ModelInfo {
  const memCaps = { limits: caps.limits, features: caps.features };
  const inference = estimateMemory(c, memCaps, { B: 1, T: 512, training: false, maxT: 512 });
  const training = estimateMemory(c, memCaps, { B: 4, T: 512, training: true });
  const fits = estimateFits(training, memCaps);
  let message: string | null = null;
  if (!fits) {
    const s = fitSuggestion(c, memCaps, { B: 4, T: 512, training: true });
    message = `training at batch 4 × 512 tokens does not fit this device's limits${s.maxT ? `; up to ${s.maxT} tokens per sequence would` : ''}`;
  }
  return {
    id: source.id,
    revision: source.revision,
    modelType: c.modelType,
    layers: c.numLayers,
    hidden: c.hiddenSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    intermediate: c.intermediateSize,
    vocab: c.vocabSize,
    tiedEmbeddings: c.tieWordEmbeddings,
    maxPositionEmbeddings: c.maxPositionEmbeddings,
    parameters: parameterCount(c),
    torchDtype: c.torchDtype,
    downloadBytes: bytes,
    memory: { weights: inference.weights, inference: inference.total, training: training.total, fits, message },
  };
}

export async function inspectModel(spec: ModelSourceSpec): Promise<ModelInfo> {
  const gpu = await getGpu();
  const source = sourceOf(spec);
  const config = await readModelConfig(source);
  return infoOf(source, config, gpu.caps, await downloadBytes(spec, source));
}

let cancelRequested = false;

export function cancelLoad(): void {
  cancelRequested = true;
}

/**
 * Reads config.json, the sizes and the tokenizer first (a failure there leaves the loaded model as it
 * was), then frees the loaded model and loads the new one's weights (a failure there leaves none:
 * heldModelId says which).
 */
export async function loadModel(spec: ModelSourceSpec): Promise<LoadedModel> {
  cancelRequested = false;
  const gpu = await getGpu();
  const source = sourceOf(spec);
  const config = await readModelConfig(source);
  const info = infoOf(source, config, gpu.caps, await downloadBytes(spec, source));
  const tokenizer = await loadTokenizer(source);
  unloadModel();
  // bytes of each checkpoint file read: the download size when the source did not say it beforehand
  const fileBytes = new Map<string, number>();
  // Every downloaded chunk and uploaded tensor reports progress; a cancel request stops the load there.
  const model = await loadCausalLM(gpu, source, {
    onProgress: (p) => {
      if (cancelRequested) throw new StudioError('E509', 'loading was cancelled', 'press Load model to start again');
      if (p.phase === 'upload' && p.total !== null) fileBytes.set(p.file, p.total);
      session.emit({ type: 'load-progress', ...p });
    },
  });
  session.emit({ type: 'load-progress', phase: 'warmup', file: '', loaded: 1, total: 1 });
  Object.assign(session, { source, model, tokenizer });
  console.info(`loaded ${source.id}: ${formatBytes(model.weights.bytes)} of weights as ${model.weights.storage}`);
  const read = [...fileBytes.values()].reduce((a, b) => a + b, 0);
  return { ...info, downloadBytes: info.downloadBytes ?? (read || null), storage: model.weights.storage, weightBytes: model.weights.bytes };
}

/** The id of the model the worker holds now (null: none, or it was on a lost device), e.g. after a load failed. */
export function heldModelId(): string | null {
  return session.model && session.source && !session.model.gpu.isLost ? session.source.id : null;
}
