import { Arena } from '../engine/arena';
import type { WeightStorage } from '../engine/dtype';
import { encodeStorage } from '../engine/dtype';
import { StudioError } from '../engine/errors';
import type { Gpu } from '../engine/runtime';
import { formatBytes } from '../engine/runtime';
import type { RowPart, RowSplitMatrix, Tensor } from '../engine/tensor';
import type { ModelConfig } from './config';
import { ModelErrorCode } from './errors';
import { toFloat32 } from './safetensors/convert';
import { parseSafetensors } from './safetensors/parse';
import type { SafetensorsDtype, SafetensorsTensor } from './safetensors/parse';
import type { ByteProgress, ModelSource } from './sources/source';
import { readJsonObject } from './sources/source';
import { safePath } from './sources/safePath';
import type { WeightSpec } from './weights';
import { isMatrixWeight, isRowSplittable, rowsPerPart, weightSpecs } from './weights';

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
  const INDEX = 'model.safetensors.index.json';
  const index = await readJsonObject(source, INDEX);
  if (!index) return ['model.safetensors'];
  const map = index.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    throw new StudioError(ModelErrorCode.badConfig, `${source.id}: ${INDEX} has no weight_map object (found ${map === undefined ? 'none' : JSON.stringify(map)?.slice(0, 80)})`, 'the index file is damaged; download it again');
  }
  const files = new Set<string>();
  for (const [tensor, file] of Object.entries(map as Record<string, unknown>)) {
    const entry = `${INDEX}: weight_map[${JSON.stringify(tensor)}]`;
    if (typeof file !== 'string') {
      throw new StudioError(ModelErrorCode.badConfig, `${source.id}: ${entry} is ${JSON.stringify(file)}; it must be the name of a shard file`, 'the index file is damaged; download it again');
    }
    // Every shard must be a file beside the index (no '..', absolute paths, other origins).
    files.add(safePath(file, { source: source.id, entry }));
  }
  if (files.size === 0) throw new StudioError(ModelErrorCode.badConfig, `${source.id}: ${INDEX} has an empty weight_map`, 'the index file is damaged; download it again');
  return [...files].sort();
}

export interface LoadedWeights {
  views: Map<string, Tensor>;
  /** Weights stored as row parts (only the embedding and head, when one binding cannot hold them). */
  split: Map<string, RowPart[]>;
  storage: WeightStorage;
  bytes: number;
}

/** A weight's GPU storage: one view, or its row parts. */
export function weightMatrix(w: LoadedWeights, name: string): RowSplitMatrix {
  return w.split.get(name) ?? w.views.get(name)!;
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
  let split = new Map<string, RowPart[]>();
  let storage: WeightStorage = 'f32';
  let bytes = 0;
  try {
    for (const file of files) {
      const data = await source.readBytes(file, (p: ByteProgress) => opts.onProgress?.({ phase: 'download', ...p }));
      if (!data) throw new StudioError(ModelErrorCode.missingWeight, `${source.id}: checkpoint file ${file} is missing`, 'the model folder must hold model.safetensors or the shards its index names');
      const parsed = parseSafetensors(data, `${source.id}/${file}`);
      // Every tensor's name and shape is checked against the size table before anything is allocated.
      const tensors: [string, SafetensorsTensor, WeightSpec][] = [];
      for (const [name, tensor] of parsed.tensors) {
        if (IGNORED.some((re) => re.test(name))) continue;
        const spec = specs.get(name);
        if (!spec) {
          if (name === 'lm_head.weight' && config.tieWordEmbeddings) continue; // some tied checkpoints still store the copy
          throw new StudioError(ModelErrorCode.unexpectedWeight, `${source.id}/${file}: unexpected tensor '${name}' for a ${config.modelType} model with ${config.numLayers} layers`, 'the checkpoint does not match its config.json');
        }
        checkShape(source.id, file, name, tensor, spec);
        tensors.push([name, tensor, spec]);
      }
      if (!views) {
        // The first matrix of the checkpoint decides the storage of all matrices.
        const firstMatrix = [...parsed.tensors.values()].find((t) => t.shape.length === 2);
        storage = chooseStorage(opts.storage ?? 'auto', firstMatrix?.dtype ?? 'F32', gpu.caps.features.shaderF16);
        const plan = weightArena(specs, storage, gpu.caps.limits.maxStorageBufferBindingSize);
        bytes = plan.arena.plannedBytes(gpu.caps.limits.minStorageBufferOffsetAlignment);
        views = await plan.arena.allocate(gpu);
        split = new Map([...plan.parts].map(([name, parts]) => [name, parts.map((p) => ({ tensor: views!.get(p.view)!, rowStart: p.rowStart, rows: p.rows }))]));
      }
      let uploaded = 0;
      for (const [name, tensor, spec] of tensors) {
        const parts = split.get(name);
        if (parts) {
          const encoded = encodeWeight(tensor, parts[0]!.tensor.dtype as WeightStorage);
          const rowBytes = encoded.byteLength / spec.shape[0]!;
          for (const p of parts) gpu.write(p.tensor, encoded.subarray(p.rowStart * rowBytes, (p.rowStart + p.rows) * rowBytes));
        } else {
          const view = views.get(name)!;
          gpu.write(view, encodeWeight(tensor, view.dtype as WeightStorage));
        }
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
  } catch (e) {
    // A failed load gives back every byte it took.
    if (views) gpu.release([...views.values()]);
    throw e;
  }
  return { views: views!, split, storage, bytes };
}

/** The weights' arena; the embedding and head become row parts `<name>#<i>` when over one binding. */
function weightArena(specs: Map<string, WeightSpec>, storage: WeightStorage, maxBinding: number): { arena: Arena; parts: Map<string, { view: string; rowStart: number; rows: number }[]> } {
  const arena = new Arena('weights');
  const parts = new Map<string, { view: string; rowStart: number; rows: number }[]>();
  for (const s of specs.values()) {
    const dtype = isMatrixWeight(s) ? storage : 'f32';
    const elementBytes = dtype === 'f32' ? 4 : 2;
    const size = s.shape.reduce((a, b) => a * b, 1) * elementBytes;
    if (size > maxBinding && isRowSplittable(s.name)) {
      const [rows, cols] = s.shape as [number, number];
      const per = rowsPerPart(cols, elementBytes, maxBinding);
      const list: { view: string; rowStart: number; rows: number }[] = [];
      for (let r0 = 0; r0 < rows; r0 += per) {
        const n = Math.min(per, rows - r0);
        const view = `${s.name}#${list.length}`;
        arena.add(view, [n, cols], dtype);
        list.push({ view, rowStart: r0, rows: n });
      }
      parts.set(s.name, list);
      continue;
    }
    if (size > maxBinding) {
      throw new StudioError(ModelErrorCode.tooLargeForDevice, `weight '${s.name}' (${s.shape.join('×')}, ${formatBytes(size)}) exceeds this device's largest storage binding (${formatBytes(maxBinding)})`, 'this GPU or browser cannot hold this model; pick a smaller model');
    }
    arena.add(s.name, s.shape, dtype);
  }
  return { arena, parts };
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
