import { StudioError } from '../engine/errors';
import type { CausalLM } from '../model/causalLM';
import { fromFloat32, toFloat32 } from '../model/safetensors/convert';
import { parseSafetensors } from '../model/safetensors/parse';
import type { SafetensorsFile } from '../model/safetensors/parse';
import { serializeSafetensors } from '../model/safetensors/serialize';
import type { TensorToWrite } from '../model/safetensors/serialize';
import { adapterTensors, checkAdapterTensors, numelOf } from './adapterFormat';
import { parseShadowConfigJson, shadowConfigJson } from './configJson';
import { ShadowErrorCode } from './errors';
import type { ExplicitShadow } from './explicitShadow';
import { explicitShadowFromMetadata, explicitShadowMetadata } from './explicitShadow';
import { ShadowPeftModel } from './shadowModel';
import type { ShadowConfig } from './config';
import type { ResolvedShadow } from './resolve';
import type { GpuParamSpec, ShadowTensors } from './shadowParams';
import { EMBED_KEY, PROJECTION_KEY } from './shadowParams';

/** Written into the safetensors __metadata__ of every adapter the studio saves. */
export const ADAPTER_FORMAT_VERSION = '1';

export interface AdapterFiles {
  /** shadow_config.json, byte-identical to what the Python package writes */
  configJson: string;
  /** shadow_adapter.safetensors in the official key names and layouts (docs/shadowpeft.md §8) */
  safetensors: Uint8Array;
}

/**
 * Reads a set of adapter-shaped GPU tensors (parameters, gradients or moments) back in the file's
 * layout: one Float32Array per official key, the per-slot injection tensors stacked into (L−1, …).
 */
export async function readAdapterLayout(model: ShadowPeftModel, tensors: ShadowTensors): Promise<Map<string, Float32Array>> {
  const parts = new Map<string, Float32Array>();
  // A set without some tensor (gradients of frozen embeddings) reads as zeros there.
  for (const s of model.specs) {
    const t = tensors.byName.get(s.name);
    if (t) parts.set(s.name, await model.gpu.read(t));
  }
  return fileLayout(model.resolved, model.specs, parts);
}

/** GPU tensors' values by GPU tensor name → the file's layout (one array per official key). */
export function fileLayout(resolved: ResolvedShadow, specs: readonly GpuParamSpec[], parts: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const t of adapterTensors(resolved)) values.set(t.key, new Float32Array(numelOf(t.shape)));
  for (const s of specs) {
    const part = parts.get(s.name);
    if (part) values.get(s.fileKey)!.set(part, s.fileOffset);
  }
  return values;
}

export interface SaveOptions {
  dtype?: 'F32' | 'BF16';
  baseModelId: string;
  extraMetadata?: Record<string, string>;
}

/**
 * Reads every adapter tensor back from the GPU and writes the two official files. The stacked
 * injection tensors (L−1, C, R) / (L−1, R, C) are assembled from the per-slot GPU tensors.
 */
export async function saveAdapter(model: ShadowPeftModel, opts: SaveOptions): Promise<AdapterFiles> {
  return adapterFiles(model.resolved, model.config, model.explicit, await readAdapterLayout(model, model.params), opts);
}

/** The two official files from adapter values in the file layout (from the GPU, or from a stored checkpoint). */
export function adapterFiles(resolved: ResolvedShadow, config: ShadowConfig, explicitShadow: ExplicitShadow | null, values: ReadonlyMap<string, Float32Array>, opts: SaveOptions): AdapterFiles {
  const dtype = opts.dtype ?? 'F32';
  for (const [key, v] of values) {
    if (!v.every(Number.isFinite)) {
      throw new StudioError(ShadowErrorCode.adapterFormat, `adapter tensor '${key}' holds NaN or infinite values; refusing to save it`, 'resume from the last good checkpoint and lower the learning rate');
    }
  }
  const tensors: TensorToWrite[] = adapterTensors(resolved).map((t) => ({ name: t.key, dtype, shape: [...t.shape], data: fromFloat32(values.get(t.key)!, dtype) }));
  const explicit = explicitShadow ? explicitShadowMetadata(explicitShadow) : {};
  const metadata = { format: 'pt', shadowpeft_studio_format_version: ADAPTER_FORMAT_VERSION, base_model: opts.baseModelId, ...explicit, ...opts.extraMetadata };
  return { configJson: shadowConfigJson(config), safetensors: serializeSafetensors(tensors, metadata) };
}

/** Strictly loads adapter tensors (f32, bf16 or f16) into a model of the matching configuration. */
export function loadAdapterWeights(model: ShadowPeftModel, bytes: Uint8Array, fileName = 'shadow_adapter.safetensors'): Record<string, string> {
  return writeAdapterTensors(model, parseSafetensors(bytes, fileName));
}

function writeAdapterTensors(model: ShadowPeftModel, file: SafetensorsFile): Record<string, string> {
  checkAdapterTensors(adapterTensors(model.resolved), new Map([...file.tensors].map(([k, t]) => [k, t.shape])));
  for (const { key } of adapterTensors(model.resolved)) {
    const t = file.tensors.get(key)!;
    model.writeFileTensor(key, toFloat32(t.data, t.dtype)); // converted once, however many GPU tensors hold it
  }
  return file.metadata;
}

/**
 * A ShadowPeftModel from the two official files, on an already loaded base (attach without reloading
 * it). An adapter of an explicit shadow model needs that model's config: the studio records it in the
 * file's metadata; for one saved by the Python package, pass `explicit` (as Python needs shadow_model=).
 */
export async function loadAdapter(base: CausalLM, files: AdapterFiles, opts: { explicit?: ExplicitShadow } = {}): Promise<{ model: ShadowPeftModel; metadata: Record<string, string> }> {
  const config = parseShadowConfigJson(files.configJson);
  const file = parseSafetensors(files.safetensors, 'shadow_adapter.safetensors');
  const explicit = opts.explicit ?? explicitShadowFromMetadata(file.metadata);
  if (!explicit) {
    const key = [EMBED_KEY, PROJECTION_KEY].find((k) => file.tensors.has(k));
    if (key) {
      throw new StudioError(ShadowErrorCode.explicitShadowMismatch, `this adapter belongs to an explicit shadow model (it holds '${key}'), and the file does not say which model that is`, "give the shadow model's folder or repo as well (cli: --shadow-model <dir>)");
    }
  }
  const model = await ShadowPeftModel.create(base, config, 0, explicit);
  const metadata = writeAdapterTensors(model, file);
  return { model, metadata };
}
