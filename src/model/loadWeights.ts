import { Arena } from '../engine/arena';
import type { WeightStorage } from '../engine/dtype';
import { encodeStorage } from '../engine/dtype';
import { StudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import { formatBytes } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import type { ModelConfig } from './config';
import { ModelErrorCode } from './errors';
import { toFloat32 } from './safetensors/convert';
import { parseSafetensors } from './safetensors/parse';
import type { SafetensorsDtype, SafetensorsTensor } from './safetensors/parse';
import type { ByteProgress, ModelSource } from './sources/source';
import { readJson } from './sources/source';
import type { WeightSpec } from './weights';
import { isMatrixWeight, weightSpecs } from './weights';

export type StorageChoice = 'auto' | WeightStorage;

export interface LoadProgress {
  phase: 'download' | 'upload';
  file: string;
  loaded: number;
  total: number | null;
}

/** Buffers HF checkpoints may carry that are not weights (recomputed here). */
const IGNORED = [/rotary_emb\.inv_freq$/];

/**
 * The storage frozen matrices get. 'auto' keeps the checkpoint's own precision without conversion
 * loss: bf16 stays packed bf16, f16 stays f16 (native where the device has shader-f16), f32 stays f32.
 */
export function chooseStorage(choice: StorageChoice, checkpointDtype: SafetensorsDtype, shaderF16: boolean): WeightStorage {
  if (choice !== 'auto') {
    if (choice === 'f16' && !shaderF16) return 'f16x2';
    return choice;
  }
  if (checkpointDtype === 'BF16') return 'bf16x2';
  if (checkpointDtype === 'F16') return shaderF16 ? 'f16' : 'f16x2';
  return 'f32';
}

/** The checkpoint's shard files: from model.safetensors.index.json, else the single file. */
export async function checkpointFiles(source: ModelSource): Promise<string[]> {
  const index = (await readJson(source, 'model.safetensors.index.json')) as { weight_map?: Record<string, string> } | null;
  if (index) {
    if (!index.weight_map || typeof index.weight_map !== 'object') {
      throw new StudioError(ModelErrorCode.badConfig, `${source.id}: model.safetensors.index.json has no weight_map`, 'the index file is damaged; download it again');
    }
    return [...new Set(Object.values(index.weight_map))].sort();
  }
  return ['model.safetensors'];
}

export interface LoadedWeights {
  views: Map<string, Tensor>;
  storage: WeightStorage;
  bytes: number;
}

/**
 * Downloads (or reads) every checkpoint file, checks each tensor against the size table and uploads
 * it in the chosen storage. Every missing, unexpected or mis-shaped tensor is a coded error naming it.
 */
export async function loadWeights(gpu: Gpu, source: ModelSource, config: ModelConfig, opts: { storage?: StorageChoice; onProgress?: (p: LoadProgress) => void } = {}): Promise<LoadedWeights> {
  const specs = new Map(weightSpecs(config).map((s) => [s.name, s]));
  const files = await checkpointFiles(source);
  const seen = new Set<string>();
  let views: Map<string, Tensor> | null = null;
  let storage: WeightStorage = 'f32';
  let bytes = 0;
  for (const file of files) {
    const data = await source.readBytes(file, (p: ByteProgress) => opts.onProgress?.({ phase: 'download', ...p }));
    if (!data) throw new StudioError(ModelErrorCode.missingWeight, `${source.id}: checkpoint file ${file} is missing`, 'the model folder must hold model.safetensors or the shards its index names');
    const parsed = parseSafetensors(data, `${source.id}/${file}`);
    if (!views) {
      // The first matrix of the checkpoint decides the storage of all matrices.
      const firstMatrix = [...parsed.tensors.values()].find((t) => t.shape.length === 2);
      storage = chooseStorage(opts.storage ?? 'auto', firstMatrix?.dtype ?? 'F32', gpu.caps.features.shaderF16);
      const arena = weightArena(specs, storage, gpu.caps.limits.maxStorageBufferBindingSize);
      bytes = arena.plannedBytes(gpu.caps.limits.minStorageBufferOffsetAlignment);
      views = await arena.allocate(gpu);
    }
    let uploaded = 0;
    for (const [name, tensor] of parsed.tensors) {
      if (IGNORED.some((re) => re.test(name))) continue;
      const spec = specs.get(name);
      if (!spec) {
        if (name === 'lm_head.weight' && config.tieWordEmbeddings) continue; // some tied checkpoints still store the copy
        throw new StudioError(ModelErrorCode.unexpectedWeight, `${source.id}/${file}: unexpected tensor '${name}' for a ${config.modelType} model with ${config.numLayers} layers`, 'the checkpoint does not match its config.json');
      }
      checkShape(source.id, file, name, tensor, spec);
      const view = views.get(name)!;
      gpu.write(view, encodeWeight(tensor, view.dtype as WeightStorage));
      seen.add(name);
      uploaded += tensor.data.byteLength;
      opts.onProgress?.({ phase: 'upload', file, loaded: uploaded, total: data.byteLength });
    }
  }
  const missing = [...specs.keys()].filter((n) => !seen.has(n));
  if (missing.length) {
    throw new StudioError(ModelErrorCode.missingWeight, `${source.id}: ${missing.length} weight(s) missing from the checkpoint, first '${missing[0]}'`, 'the checkpoint does not match its config.json, or a shard is missing');
  }
  await gpu.sync();
  return { views: views!, storage, bytes };
}

function weightArena(specs: Map<string, WeightSpec>, storage: WeightStorage, maxBinding: number): Arena {
  const arena = new Arena('weights');
  for (const s of specs.values()) {
    const dtype = isMatrixWeight(s) ? storage : 'f32';
    const elementBytes = dtype === 'f32' ? 4 : 2;
    const size = s.shape.reduce((a, b) => a * b, 1) * elementBytes;
    if (size > maxBinding) {
      throw new StudioError(ModelErrorCode.tooLargeForDevice, `weight '${s.name}' (${s.shape.join('×')}, ${formatBytes(size)}) exceeds this device's largest storage binding (${formatBytes(maxBinding)})`, 'this GPU or browser cannot hold this model; pick a smaller model');
    }
    arena.add(s.name, s.shape, dtype);
  }
  return arena;
}

function checkShape(id: string, file: string, name: string, t: SafetensorsTensor, spec: WeightSpec): void {
  if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
    throw new StudioError(ModelErrorCode.weightShape, `${id}/${file}: tensor '${name}' has shape [${t.shape.join(', ')}], expected [${spec.shape.join(', ')}] from config.json`, 'the checkpoint does not match its config.json');
  }
}

/** Bytes of a checkpoint tensor in a GPU storage form; same-precision cases copy the raw bytes. */
function encodeWeight(t: SafetensorsTensor, storage: WeightStorage): Uint8Array {
  const raw = (t.dtype === 'BF16' && storage === 'bf16x2') || (t.dtype === 'F16' && (storage === 'f16' || storage === 'f16x2')) || (t.dtype === 'F32' && storage === 'f32');
  if (raw) {
    if (t.data.byteLength % 4 === 0) return t.data;
    const padded = new Uint8Array(t.data.byteLength + 2);
    padded.set(t.data);
    return padded;
  }
  return encodeStorage(toFloat32(t.data, t.dtype), storage);
}
