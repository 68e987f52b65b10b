import { describe, expect, it } from 'vitest';
import { shadowConfigIssues } from './config';
import { countShadowParams } from './paramCount';
import { SHADOW_PRESETS, shadowPreset } from './presets';
import { resolveShadow } from './resolve';
import { QWEN3_0_6B, QWEN3_4B, QWEN3_8B } from './testing/baseArchitectures';

describe('authors’ recipes as presets (SHADOWPEFT.md §10)', () => {
  it('unique ids, one-line descriptions, valid configs that resolve on their bases', () => {
    expect(new Set(SHADOW_PRESETS.map((p) => p.id)).size).toBe(SHADOW_PRESETS.length);
    for (const p of SHADOW_PRESETS) {
      expect(p.description, p.id).not.toMatch(/\n/);
      expect(p.description.length, p.id).toBeGreaterThan(10);
      expect(shadowConfigIssues(p.shadow), p.id).toEqual([]);
      for (const base of [QWEN3_0_6B, QWEN3_4B, QWEN3_8B]) expect(() => resolveShadow(p.shadow, base)).not.toThrow();
    }
  });

  it('learning rates: 3e-3 reasoning, 1e-3 SQuAD, 2e-4 MMLU/classification, 3e-3 for 4B/8B', () => {
    const lr = Object.fromEntries(SHADOW_PRESETS.map((p) => [p.id, p.training.learningRate]));
    expect(lr).toEqual({ reasoning: 3e-3, 'extractive-qa': 1e-3, classification: 2e-4, 'reasoning-4b': 3e-3, 'reasoning-8b': 3e-3 });
  });

  it('shared recipe: AdamW wd 0.01, warmup 0.01, linear, λ 0.05, max length 512, α 0.1, p 0.2, N_s 1, I_s 256, R 16', () => {
    for (const p of SHADOW_PRESETS) {
      expect(p.training, p.id).toMatchObject({ optimizer: 'adamw', weightDecay: 0.01, warmupRatio: 0.01, schedule: 'linear', shadowLossWeight: 0.05, maxLength: 512 });
      expect(p.training.batchSize).toBeGreaterThanOrEqual(16);
      expect(p.training.batchSize).toBeLessThanOrEqual(32);
      expect(p.training.epochs).toBeGreaterThanOrEqual(2);
      expect(p.training.epochs).toBeLessThanOrEqual(4);
      expect(p.shadow, p.id).toMatchObject({ alpha: 0.1, dropout: 0.2, num_shadow_layers: 1, shadow_intermediate_size: 256, injection_hidden_size: 16, modules_to_save: [] });
    }
  });

  it('gate width 10 on small bases, 8 on 4B/8B; the 0.6B recipes give the §9 count', () => {
    for (const id of ['reasoning', 'extractive-qa', 'classification']) {
      const p = shadowPreset(id)!;
      expect(p.shadow.gate_hidden_size).toBe(10);
      expect(countShadowParams(p.shadow, QWEN3_0_6B).total).toBe(9_073_920);
    }
    expect(shadowPreset('reasoning-4b')!.shadow).toMatchObject({ gate_hidden_size: 8, shadow_num_attention_heads: 16 });
    expect(shadowPreset('reasoning-8b')!.shadow).toMatchObject({ gate_hidden_size: 8, shadow_num_attention_heads: 8 });
    expect(shadowPreset('nope')).toBeUndefined();
  });

  it('presets do not share mutable arrays', () => {
    expect(shadowPreset('reasoning')!.shadow.modules_to_save).not.toBe(shadowPreset('classification')!.shadow.modules_to_save);
  });
});
