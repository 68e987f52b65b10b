import { StudioError } from '../src/engine/errors';
import { loadAdapter, saveAdapter } from '../src/shadow/adapterIO';
import { ShadowErrorCode } from '../src/shadow/errors';
import { readExplicitShadow } from '../src/shadow/explicitShadow';
import type { AdapterFilesPayload, ExplicitShadowSettings } from './api';
import { sourceOf } from './modelCommands';
import type { ShadowConfig } from '../src/shadow/config';
import { resetSteppers } from './generateCommands';
import { requireModel, requireShadow, session } from './session';

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
 * does not, and then the shadow model chosen on the Configure screen (`explicitShadow`) is tried.
 */
export async function importAdapter(files: AdapterFilesPayload, explicitShadow?: ExplicitShadowSettings | null): Promise<{ shadow: ShadowConfig; baseModel: string | null }> {
  const { model } = requireModel();
  const adapter = { configJson: files.configJson, safetensors: new Uint8Array(files.safetensors) };
  const { model: shadow, metadata } = await loadAdapter(model, adapter).catch(async (first: unknown) => {
    const shapeProblem = first instanceof StudioError && RETRY_WITH_EXPLICIT.has(first.code);
    if (!explicitShadow || !shapeProblem) {
      if (first instanceof StudioError && first.code === ShadowErrorCode.explicitShadowMismatch) {
        throw new StudioError(first.code, first.message, 'choose that shadow model on the Configure screen (a pretrained model), then import again');
      }
      throw first;
    }
    const explicit = await readExplicitShadow(sourceOf(explicitShadow.source), { ownEmbeddings: explicitShadow.ownEmbeddings, freezeEmbeddings: explicitShadow.freezeEmbeddings });
    return loadAdapter(model, adapter, { explicit }).catch(() => {
      throw first; // neither fits: the first message names the adapter's problem
    });
  });
  session.shadow = shadow;
  resetSteppers();
  return { shadow: shadow.config, baseModel: metadata.base_model ?? null };
}
