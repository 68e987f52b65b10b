/** A tiny run for tests: a small shadow, hand-made token sequences (no tokenizer) and a fast config. */
import { rng } from '../../engine/testing/random';
import type { ShadowConfig } from '../../shadow/config';
import { shadowConfig } from '../../shadow/config';
import { IGNORE_INDEX } from '../data/types';
import type { TokenizedExample } from '../data/types';
import type { RunConfig } from '../runConfig';
import { runConfig } from '../runConfig';

export const TINY_SHADOW: ShadowConfig = shadowConfig({ num_shadow_layers: 1, shadow_intermediate_size: 24, shadow_num_attention_heads: 2, shadow_num_key_value_heads: 1, injection_hidden_size: 4, gate_hidden_size: 3, dropout: 0.2 });

/**
 * n seeded sequences of 4…maxLen ids in [3, V) with a "prompt" of 1–2 tokens (labels −100), so
 * sequences differ in length and in supervised count.
 */
export function tinyExamples(n: number, seed: number, V: number, maxLen = 9): TokenizedExample[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, line) => {
    const len = 4 + Math.floor(r() * (maxLen - 3));
    const ids = Array.from({ length: len }, () => 3 + Math.floor(r() * (V - 3)));
    const prompt = 1 + Math.floor(r() * 2);
    return { inputIds: ids, labels: ids.map((id, t) => (t < prompt ? IGNORE_INDEX : id)), line: line + 1 };
  });
}

export function tinyRunConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return runConfig(
    { id: 'qwen3-tiny', revision: null },
    {
      shadow: TINY_SHADOW,
      learningRate: 1e-2,
      warmupRatio: 0.1,
      microBatchSize: 2,
      gradientAccumulationSteps: 2,
      epochs: 1,
      maxSteps: null,
      maxLength: 16,
      validationFraction: 0.2,
      evalEvery: null,
      earlyStoppingPatience: null,
      checkpointEvery: null,
      seed: 1234,
      ...overrides,
    },
  );
}
