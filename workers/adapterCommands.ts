import { StudioError } from '../src/engine/errors';
import { loadAdapter, saveAdapter } from '../src/shadow/adapterIO';
import { ShadowErrorCode } from '../src/shadow/errors';
import { explicitShadowFromMetadata, readExplicitShadow, shadowEmbeddingsOf } from '../src/shadow/explicitShadow';
import { parseSafetensors } from '../src/model/safetensors/parse';
import { EMBED_KEY } from '../src/shadow/shadowParams';
import type { AdapterFilesPayload, ExplicitShadowSettings, ImportedAdapter } from './api';
import { sourceOf } from './modelCommands';
import { requireModel, requireShadow, setShadow } from './session';

/** Errors that an explicit shadow without a record in the file would give when loaded as implicit. */
const RETRY_WITH_EXPLICIT = new Set<string>([ShadowErrorCode.explicitShadowMismatch, ShadowErrorCode.adapterKeyMissing, ShadowErrorCode.adapterKeyUnexpected, ShadowErrorCode.adapterShapeMismatch]);

export async function exportAdapter(dtype: 'F32' | 'BF16'): Promise<AdapterFilesPayload> {
  const { source } = requireModel();
  const files = await saveAdapter(requireShadow(), { dtype, baseModelId: source.id, extraMetadata: source.revision ? { base_revision: source.revision } : {} });
  const safetensors = files.safetensors.slice().buffer;
  return { configJson: files.configJson, safetensors };
}

/**
 * Attaches an adapter (ours or one saved by the Python package) to the loaded base, without reloading
 * it. An explicit shadow's adapter names its model in the studio's metadata; one saved by the package
 * does not, and then the shadow model chosen on the Configure screen (`explicitShadow`) is tried, with
 * the embeddings the file shows (its own when it holds a table, else the base's).
 * Returns the explicit shadow it was attached with (null: the implicit shadow).
 */
export async function importAdapter(files: AdapterFilesPayload, explicitShadow?: ExplicitShadowSettings | null): Promise<ImportedAdapter> {
  const { model } = requireModel();
  const adapter = { configJson: files.configJson, safetensors: new Uint8Array(files.safetensors) };
  const file = parseSafetensors(adapter.safetensors, 'shadow_adapter.safetensors');
  const recorded = explicitShadowFromMetadata(file.metadata) !== null;
  const { model: shadow, metadata } = await loadAdapter(model, adapter).catch(async (first: unknown) => {
    if (!(first instanceof StudioError) || !RETRY_WITH_EXPLICIT.has(first.code) || recorded) throw first;
    if (!explicitShadow) {
      // Without a record, an explicit shadow's file looks like a mis-shaped implicit one.
      const maybe = first.code === ShadowErrorCode.explicitShadowMismatch ? '' : `${first.hint}; or, if it was trained with an explicit shadow model, `;
      throw new StudioError(first.code, first.detail, `${maybe}choose that shadow model on the Configure screen (a pretrained model), then import again`);
    }
    const source = sourceOf(explicitShadow.source);
    const explicit = await readExplicitShadow(source, { ownEmbeddings: file.tensors.has(EMBED_KEY) });
    return loadAdapter(model, adapter, { explicit }).catch((second: unknown) => {
      if (!(second instanceof StudioError)) throw second;
      throw new StudioError(second.code, `with the shadow model chosen on the Configure screen (${source.id}): ${second.detail}`, second.hint);
    });
  });
  setShadow(shadow);
  const e = shadow.explicit;
  return { shadow: shadow.config, baseModel: metadata.base_model ?? null, explicitShadow: e ? { id: e.id, embeddings: shadowEmbeddingsOf(e) } : null };
}
