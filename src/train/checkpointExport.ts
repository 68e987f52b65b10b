import { StudioError } from '../engine/errors';
import type { ModelConfig } from '../model/config';
import type { AdapterFiles } from '../shadow/adapterIO';
import { adapterFiles, fileLayout } from '../shadow/adapterIO';
import { resolveShadowOn } from '../shadow/fromModel';
import { gpuParamSpecs } from '../shadow/shadowParams';
import type { Checkpoint } from './checkpointState';
import { checkpointTensor } from './checkpointState';
import { canonicalJson } from './data/fingerprint';
import { TrainErrorCode } from './errors';

/**
 * The two official adapter files of a stored checkpoint, straight from its tensors: no GPU, and the
 * current run (if any) is left alone. `base` is the loaded base model's config (the checkpoint's
 * shapes follow from it and the run config); `maxBindingBytes` is the device limit that decided how
 * the GPU tensors were split (the device the checkpoint was written on).
 */
export function checkpointAdapterFiles(ck: Checkpoint, base: ModelConfig, maxBindingBytes: number, dtype: 'F32' | 'BF16'): AdapterFiles {
  const { manifest: man, tensors } = ck;
  const config = man.config;
  const explicit = config.explicitShadow ?? null;
  const resolved = resolveShadowOn(config.shadow, base, explicit);
  const specs = gpuParamSpecs(resolved, maxBindingBytes);
  if (canonicalJson(specs.map((s) => s.name)) !== canonicalJson(man.tensorNames)) {
    throw new StudioError(TrainErrorCode.checkpointMismatch, `checkpoint ${man.id}: its adapter tensors do not fit the loaded base model`, `load '${man.baseModel.id}', the base model the run trained on`);
  }
  const parts = new Map(specs.map((s) => [s.name, checkpointTensor(man, tensors.params, s, 'adapter')]));
  return adapterFiles(resolved, config.shadow, explicit, fileLayout(resolved, specs, parts), {
    dtype,
    baseModelId: man.baseModel.id,
    extraMetadata: { base_model_revision: man.baseModel.revision ?? '', optimizer_steps: String(man.optimizerStep), dataset_fingerprint: man.datasetFingerprint, checkpoint: man.id },
  });
}
