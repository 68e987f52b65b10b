import { StudioError } from '../engine/errors';
import type { ModelConfig } from '../model/config';
import type { HfConfig } from '../model/families/hfConfig';
import { modelConfigFromHf } from '../model/families/registry';
import { checkpointFiles } from '../model/loadWeights';
import { toFloat32 } from '../model/safetensors/convert';
import { parseSafetensors } from '../model/safetensors/parse';
import type { ByteProgress, ModelSource } from '../model/sources/source';
import { readJson } from '../model/sources/source';
import { adapterTensors } from './adapterFormat';
import { ShadowErrorCode } from './errors';
import type { ShadowPeftModel } from './shadowModel';

/**
 * An explicit shadow (docs/shadowpeft.md §6): a separately pretrained, usually smaller model serves as the
 * shadow backbone instead of freshly initialised copies of the base's layers. It keeps its own token
 * embeddings (trained with the rest of the adapter, as in the reference package) unless told to share
 * the base's; a width C_s ≠ C adds shadow_hidden_projection (C, C_s).
 */
export interface ExplicitShadow {
  /** What the user would call it (repo id, URL, folder); recorded in saved adapters. */
  id: string;
  /** The Hub revision it was read at, when there is one (recorded too). */
  revision?: string | null;
  /** Its config.json as published: recorded in adapters and checkpoints so they reload without the model. */
  hfConfig: HfConfig;
  /** Keep its own embed_tokens (default) or be fed the base embeddings (needs C_s = C). */
  ownEmbeddings: boolean;
  /**
   * With its own embeddings: keep them as pretrained (no gradient, no AdamW state: for a 151,936-row
   * table that is 3 × 0.6 GB less GPU memory). The reference package trains them; absent = train.
   */
  freezeEmbeddings?: boolean;
}

/** How an explicit shadow treats token embeddings, as the metadata, the CLI and the UI name it. */
export type ShadowEmbeddings = 'own' | 'frozen' | 'base';

export function shadowEmbeddingsOf(e: Pick<ExplicitShadow, 'ownEmbeddings' | 'freezeEmbeddings'>): ShadowEmbeddings {
  return !e.ownEmbeddings ? 'base' : e.freezeEmbeddings ? 'frozen' : 'own';
}

export function embeddingChoice(kind: ShadowEmbeddings): Pick<ExplicitShadow, 'ownEmbeddings' | 'freezeEmbeddings'> {
  return kind === 'base' ? { ownEmbeddings: false } : kind === 'frozen' ? { ownEmbeddings: true, freezeEmbeddings: true } : { ownEmbeddings: true };
}

/** safetensors __metadata__ keys under which a saved adapter records its explicit shadow. */
export const EXPLICIT_METADATA = { id: 'shadow_model_id', revision: 'shadow_model_revision', config: 'shadow_model_config', embeddings: 'shadow_model_embeddings' } as const;

export function explicitShadowModelConfig(e: ExplicitShadow): ModelConfig {
  return modelConfigFromHf(e.hfConfig);
}

/** The explicit shadow of a model folder / repo: its config.json (weights are read by loadPretrainedShadow). */
export async function readExplicitShadow(source: ModelSource, opts: { ownEmbeddings?: boolean; freezeEmbeddings?: boolean } = {}): Promise<ExplicitShadow> {
  const json = await readJson(source, 'config.json');
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new StudioError(ShadowErrorCode.explicitShadowMismatch, `${source.id}: no usable config.json for the explicit shadow model`, 'give a model folder or repo in the Hugging Face layout (config.json + safetensors)');
  }
  const hfConfig = json as HfConfig;
  modelConfigFromHf(hfConfig); // refuse an unsupported architecture now, with the family's own message
  const own = opts.ownEmbeddings ?? true;
  return { id: source.id, ...(source.revision ? { revision: source.revision } : {}), hfConfig, ownEmbeddings: own, ...(own && opts.freezeEmbeddings ? { freezeEmbeddings: true } : {}) };
}

/** The adapter metadata of an explicit shadow (see EXPLICIT_METADATA). */
export function explicitShadowMetadata(e: ExplicitShadow): Record<string, string> {
  return {
    [EXPLICIT_METADATA.id]: e.id,
    ...(e.revision ? { [EXPLICIT_METADATA.revision]: e.revision } : {}),
    [EXPLICIT_METADATA.config]: JSON.stringify(e.hfConfig),
    [EXPLICIT_METADATA.embeddings]: shadowEmbeddingsOf(e),
  };
}

/** The explicit shadow a saved adapter records, or null for an implicit one. */
export function explicitShadowFromMetadata(metadata: Readonly<Record<string, string>>): ExplicitShadow | null {
  const text = metadata[EXPLICIT_METADATA.config];
  if (text === undefined) return null;
  let hfConfig: unknown;
  try {
    hfConfig = JSON.parse(text);
  } catch (e) {
    throw new StudioError(ShadowErrorCode.adapterFormat, `the adapter's ${EXPLICIT_METADATA.config} metadata is not JSON (${String(e)})`, 'export the adapter again');
  }
  if (hfConfig === null || typeof hfConfig !== 'object' || Array.isArray(hfConfig)) throw new StudioError(ShadowErrorCode.adapterFormat, `the adapter's ${EXPLICIT_METADATA.config} metadata is not a config object`, 'export the adapter again');
  const kind = metadata[EXPLICIT_METADATA.embeddings];
  const revision = metadata[EXPLICIT_METADATA.revision];
  return { id: metadata[EXPLICIT_METADATA.id] ?? 'explicit shadow', ...(revision ? { revision } : {}), hfConfig: hfConfig as HfConfig, ...embeddingChoice(kind === 'base' || kind === 'frozen' ? kind : 'own') };
}

/**
 * Copies a pretrained shadow model's weights into the adapter: `model.X` of the checkpoint becomes
 * `shadow_model.X` (its decoder layers, final norm and — when kept — embeddings). Its lm_head is not
 * used (shadow logits come from the base's head, through the projection). Every backbone tensor of
 * the adapter must be found with its exact shape; the projection keeps its fresh nn.Linear init.
 */
export async function loadPretrainedShadow(model: ShadowPeftModel, source: ModelSource, onProgress?: (p: ByteProgress) => void): Promise<void> {
  const shapes = new Map(adapterTensors(model.resolved).map((t) => [t.key, t.shape]));
  const wanted = [...shapes.keys()].filter((k) => k.startsWith('shadow_model.'));
  const found = new Set<string>();
  for (const file of await checkpointFiles(source)) {
    const bytes = await source.readBytes(file, onProgress);
    if (bytes === null) throw new StudioError(ShadowErrorCode.explicitShadowMismatch, `${source.id}: ${file} is missing`, 'the explicit shadow model needs its safetensors weights');
    const parsed = parseSafetensors(bytes, `${source.id}/${file}`);
    for (const [name, t] of parsed.tensors) {
      if (!name.startsWith('model.')) continue;
      const key = `shadow_${name}`;
      const expected = shapes.get(key);
      if (!expected) continue; // e.g. embed_tokens when the shadow is fed the base embeddings
      if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
        throw new StudioError(ShadowErrorCode.explicitShadowMismatch, `${source.id}: tensor '${name}' has shape (${t.shape.join(', ')}), its config says (${expected.join(', ')})`, 'the checkpoint does not match its config.json');
      }
      model.writeFileTensor(key, toFloat32(t.data, t.dtype));
      found.add(key);
    }
  }
  const missing = wanted.filter((k) => !found.has(k));
  if (missing.length) {
    throw new StudioError(ShadowErrorCode.explicitShadowMismatch, `${source.id}: the checkpoint lacks ${missing.length} tensor(s) of the shadow backbone, first '${missing[0]!.replace(/^shadow_/, '')}'`, 'use a Qwen3, Qwen2 or Llama checkpoint in the Hugging Face layout');
  }
}
