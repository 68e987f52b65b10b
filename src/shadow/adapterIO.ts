import { StudioError } from '../engine/errors';
import type { CausalLM } from '../model/causalLM';
import type { ModelConfig } from '../model/config';
import { fromFloat32, toFloat32 } from '../model/safetensors/convert';
import { parseSafetensors } from '../model/safetensors/parse';
import type { SafetensorsFile, SafetensorsTensor } from '../model/safetensors/parse';
import { serializeSafetensors } from '../model/safetensors/serialize';
import type { TensorToWrite } from '../model/safetensors/serialize';
import { adapterTensors, checkAdapterTensors, numelOf } from './adapterFormat';
import { parseShadowConfigJson, shadowConfigJson } from './configJson';
import { ShadowErrorCode } from './errors';
import type { ExplicitShadow } from './explicitShadow';
import { resolveShadowOn } from './fromModel';
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
    const i = v.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) throw nonFiniteAdapter(key, i, 'save');
  }
  const tensors: TensorToWrite[] = adapterTensors(resolved).map((t) => ({ name: t.key, dtype, shape: [...t.shape], data: fromFloat32(values.get(t.key)!, dtype) }));
  const explicit = explicitShadow ? explicitShadowMetadata(explicitShadow) : {};
  const metadata = { format: 'pt', shadowpeft_studio_format_version: ADAPTER_FORMAT_VERSION, base_model: opts.baseModelId, ...explicit, ...opts.extraMetadata };
  return { configJson: shadowConfigJson(config), safetensors: serializeSafetensors(tensors, metadata) };
}

/** The one wording of a NaN / ±Inf adapter value, whether it is refused on saving or on loading. */
function nonFiniteAdapter(key: string, index: number, verb: 'save' | 'load'): StudioError {
  return new StudioError(
    ShadowErrorCode.adapterFormat,
    `adapter tensor '${key}' holds NaN or infinite values (first at element ${index}); refusing to ${verb} it`,
    verb === 'save' ? 'resume from the last good checkpoint and lower the learning rate' : 'the adapter was saved after training diverged, or the file is damaged; use an earlier adapter',
  );
}

/** Index of the first NaN or ±Inf element of a tensor (from its raw bits: no conversion), or −1. */
function firstNonFinite(t: SafetensorsTensor): number {
  const d = t.data;
  if (t.dtype === 'F32') {
    // Exponent all ones: bits 23–30, in the top two bytes (little-endian).
    for (let i = 0, n = d.length / 4; i < n; i++) if ((d[4 * i + 3]! & 0x7f) === 0x7f && (d[4 * i + 2]! & 0x80) === 0x80) return i;
    return -1;
  }
  // BF16: exponent bits 7–14 of the half; F16: bits 10–14.
  const [hiMask, loMask] = t.dtype === 'BF16' ? [0x7f, 0x80] : [0x7c, 0x00];
  for (let i = 0, n = d.length / 2; i < n; i++) if ((d[2 * i + 1]! & hiMask) === hiMask && (d[2 * i]! & loMask) === loMask) return i;
  return -1;
}

/** Strictly loads adapter tensors (f32, bf16 or f16) into a model of the matching configuration. */
export function loadAdapterWeights(model: ShadowPeftModel, bytes: Uint8Array, fileName = 'shadow_adapter.safetensors'): Record<string, string> {
  const file = parseSafetensors(bytes, fileName);
  checkAdapterFile(model.resolved, file);
  writeAdapterTensors(model, file);
  return file.metadata;
}

/**
 * The file against the size table of a resolved adapter, before any GPU tensor exists: exactly the
 * expected keys and shapes (E214–E216), and no NaN or ±Inf value (E219, as on saving).
 */
function checkAdapterFile(resolved: ResolvedShadow, file: SafetensorsFile): void {
  const expected = adapterTensors(resolved);
  checkAdapterTensors(expected, new Map([...file.tensors].map(([k, t]) => [k, t.shape])));
  for (const { key } of expected) {
    const i = firstNonFinite(file.tensors.get(key)!);
    if (i >= 0) throw nonFiniteAdapter(key, i, 'load');
  }
}

function writeAdapterTensors(model: ShadowPeftModel, file: SafetensorsFile): void {
  for (const { key } of adapterTensors(model.resolved)) {
    const t = file.tensors.get(key)!;
    model.writeFileTensor(key, toFloat32(t.data, t.dtype)); // converted once, however many GPU tensors hold it
  }
}

/**
 * A ShadowPeftModel from the two official files, on an already loaded base (attach without reloading
 * it). An adapter of an explicit shadow model needs that model's config: the studio records it in the
 * file's metadata; for one saved by the Python package, pass `explicit` (as Python needs shadow_model=).
 * Everything is checked — the config's values and limits, the keys, shapes and values of the file, the
 * adapter's size against the device — before its first GPU tensor is allocated.
 */
export async function loadAdapter(base: CausalLM, files: AdapterFiles, opts: { explicit?: ExplicitShadow } = {}): Promise<{ model: ShadowPeftModel; metadata: Record<string, string> }> {
  const { config, file, explicit } = checkAdapter(base.config, files, opts);
  // Every tensor is overwritten from the file: no random initialisation to spend time on.
  const model = await ShadowPeftModel.create(base, config, 0, explicit, { initialize: false });
  try {
    writeAdapterTensors(model, file);
  } catch (e) {
    model.destroy();
    throw e;
  }
  return { model, metadata: file.metadata };
}

/**
 * Everything loadAdapter checks, from the base's config alone (no GPU, nothing allocated): the
 * config's values and limits, whether an explicit shadow is needed, and the file's keys, shapes and
 * values against the size table. The CLI runs it before it loads the base model.
 */
export function checkAdapter(base: ModelConfig, files: AdapterFiles, opts: { explicit?: ExplicitShadow } = {}): { config: ShadowConfig; file: SafetensorsFile; explicit: ExplicitShadow | null; resolved: ResolvedShadow } {
  const config = parseShadowConfigJson(files.configJson);
  const file = parseSafetensors(files.safetensors, 'shadow_adapter.safetensors');
  const explicit = opts.explicit ?? explicitShadowFromMetadata(file.metadata);
  if (!explicit) {
    const key = [EMBED_KEY, PROJECTION_KEY].find((k) => file.tensors.has(k));
    if (key) {
      throw new StudioError(ShadowErrorCode.explicitShadowMismatch, `this adapter belongs to an explicit shadow model (it holds '${key}'), and the file does not say which model that is`, "give the shadow model's folder or repo as well (cli: --shadow-model <dir>)");
    }
  }
  const resolved = resolveShadowOn(config, base, explicit);
  checkAdapterFile(resolved, file);
  return { config, file, explicit, resolved };
}
