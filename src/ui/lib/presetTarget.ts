import type { Capabilities } from '../../engine/device';
import type { ModelInfo } from '../../../workers/api';
import type { PresetTarget } from '../../shadow/presets';
import { baseArchitectureOf } from './baseArchitecture';

/** A model as the Model screen knows it (presets are capped at its maxPositionEmbeddings). */
export type ModelFacts = ModelInfo;

/** What a preset is fitted to in the studio: the inspected or loaded model, and the worker's device. */
export function presetTargetOfInfo(info: ModelFacts, caps: Pick<Capabilities, 'limits'> | null): PresetTarget {
  const positions = info.maxPositionEmbeddings;
  return {
    parameters: info.parameters,
    base: baseArchitectureOf(info),
    maxPositionEmbeddings: typeof positions === 'number' && Number.isSafeInteger(positions) && positions >= 2 ? positions : null,
    limits: caps ? { maxStorageBufferBindingSize: caps.limits.maxStorageBufferBindingSize, maxBufferSize: caps.limits.maxBufferSize } : null,
  };
}
