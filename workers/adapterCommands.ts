import { loadAdapter, saveAdapter } from '../src/shadow/adapterIO';
import type { AdapterFilesPayload } from './api';
import type { ShadowConfig } from '../src/shadow/config';
import { resetSteppers } from './generateCommands';
import { requireModel, requireShadow, session } from './session';

export async function exportAdapter(dtype: 'F32' | 'BF16'): Promise<AdapterFilesPayload> {
  const { source } = requireModel();
  const files = await saveAdapter(requireShadow(), { dtype, baseModelId: source.id, extraMetadata: source.revision ? { base_revision: source.revision } : {} });
  const safetensors = files.safetensors.slice().buffer;
  return { configJson: files.configJson, safetensors };
}

/** Attaches an adapter (ours or one saved by the Python package) to the loaded base, without reloading it. */
export async function importAdapter(files: AdapterFilesPayload): Promise<{ shadow: ShadowConfig; baseModel: string | null }> {
  const { model } = requireModel();
  const { model: shadow, metadata } = await loadAdapter(model, { configJson: files.configJson, safetensors: new Uint8Array(files.safetensors) });
  session.shadow = shadow;
  resetSteppers();
  return { shadow: shadow.config, baseModel: metadata.base_model ?? null };
}
