import { describe, expect, it } from 'vitest';
import type { ShadowConfig } from './config';
import { DEFAULT_SHADOW_CONFIG, SHADOW_CONFIG_FIELDS, shadowConfig, shadowConfigIssues, shadowLossWeightIssue, validateShadowConfig } from './config';
import { ShadowErrorCode } from './errors';
import { errorOf } from './testing/errorOf';

describe('ShadowConfig defaults', () => {
  it('are the reference package defaults, with exactly the ten official fields', () => {
    // shadow_peft/config.py: num_shadow_layers 1, injection 16, gate 10, alpha 0.1, dropout 0.1, rest None / [].
    expect({ ...DEFAULT_SHADOW_CONFIG }).toEqual({
      alpha: 0.1,
      dropout: 0.1,
      gate_hidden_size: 10,
      injection_hidden_size: 16,
      modules_to_save: [],
      num_shadow_layers: 1,
      shadow_head_dim: null,
      shadow_intermediate_size: null,
      shadow_num_attention_heads: null,
      shadow_num_key_value_heads: null,
    });
    expect(Object.keys(DEFAULT_SHADOW_CONFIG).sort()).toEqual([...SHADOW_CONFIG_FIELDS]);
  });

  it('shadowConfig() copies the defaults (no shared modules_to_save array) and applies overrides', () => {
    const a = shadowConfig();
    a.modules_to_save.push('lm_head');
    expect(shadowConfig().modules_to_save).toEqual([]);
    expect(shadowConfig({ gate_hidden_size: 8 }).gate_hidden_size).toBe(8);
  });
});

describe('ShadowConfig validation (base-independent rules)', () => {
  const bad = (o: Partial<ShadowConfig>) => () => shadowConfig(o);

  it('gate_hidden_size ≥ 2, integer', () => {
    const m = errorOf(bad({ gate_hidden_size: 1 }), ShadowErrorCode.gateTooSmall);
    expect(m).toContain('gate_hidden_size is 1');
    expect(m).toContain('≥ 2');
    errorOf(bad({ gate_hidden_size: 2.5 }), ShadowErrorCode.gateTooSmall);
    expect(shadowConfig({ gate_hidden_size: 2 }).gate_hidden_size).toBe(2);
  });

  it('injection_hidden_size ≥ 1', () => {
    const m = errorOf(bad({ injection_hidden_size: 0 }), ShadowErrorCode.injectionTooSmall);
    expect(m).toContain('injection_hidden_size is 0');
    expect(m).toContain('≥ 1');
    expect(shadowConfig({ injection_hidden_size: 1 }).injection_hidden_size).toBe(1);
  });

  it('num_shadow_layers ≥ 1', () => {
    const m = errorOf(bad({ num_shadow_layers: 0 }), ShadowErrorCode.tooFewShadowLayers);
    expect(m).toContain('num_shadow_layers is 0');
    errorOf(bad({ num_shadow_layers: -3 }), ShadowErrorCode.tooFewShadowLayers);
  });

  it('0 ≤ dropout < 1', () => {
    expect(errorOf(bad({ dropout: 1 }), ShadowErrorCode.dropoutOutOfRange)).toContain('dropout is 1');
    expect(errorOf(bad({ dropout: -0.1 }), ShadowErrorCode.dropoutOutOfRange)).toContain('dropout is -0.1');
    errorOf(bad({ dropout: NaN }), ShadowErrorCode.dropoutOutOfRange);
    expect(shadowConfig({ dropout: 0 }).dropout).toBe(0);
    expect(shadowConfig({ dropout: 0.999 }).dropout).toBe(0.999);
  });

  it('alpha finite (any sign)', () => {
    expect(errorOf(bad({ alpha: Infinity }), ShadowErrorCode.alphaNotFinite)).toContain('alpha is Infinity');
    expect(errorOf(bad({ alpha: NaN }), ShadowErrorCode.alphaNotFinite)).toContain('alpha is NaN');
    expect(shadowConfig({ alpha: -2 }).alpha).toBe(-2);
  });

  it('shadow_* overrides: null or an integer ≥ 1', () => {
    expect(errorOf(bad({ shadow_intermediate_size: 0 }), ShadowErrorCode.badShadowSize)).toContain('shadow_intermediate_size is 0');
    expect(errorOf(bad({ shadow_head_dim: 64.5 }), ShadowErrorCode.badShadowSize)).toContain('shadow_head_dim is 64.5');
    errorOf(bad({ shadow_num_attention_heads: -1 }), ShadowErrorCode.badShadowSize);
    errorOf(bad({ shadow_num_key_value_heads: 0 }), ShadowErrorCode.badShadowSize);
  });

  it('modules_to_save: a list of non-empty strings', () => {
    errorOf(bad({ modules_to_save: [1 as unknown as string] }), ShadowErrorCode.badModulesToSave);
    errorOf(bad({ modules_to_save: 'lm_head' as unknown as string[] }), ShadowErrorCode.badModulesToSave);
    expect(shadowConfig({ modules_to_save: ['lm_head', 'shadow_lm_head'] }).modules_to_save).toHaveLength(2);
  });

  it('shadowConfigIssues lists every problem; validate throws the first', () => {
    const c = { ...DEFAULT_SHADOW_CONFIG, modules_to_save: [], gate_hidden_size: 0, dropout: 2, alpha: NaN };
    expect(shadowConfigIssues(c).map((e) => e.code)).toEqual([ShadowErrorCode.gateTooSmall, ShadowErrorCode.alphaNotFinite, ShadowErrorCode.dropoutOutOfRange]);
    errorOf(() => validateShadowConfig(c), ShadowErrorCode.gateTooSmall);
    expect(shadowConfigIssues(shadowConfig())).toEqual([]);
  });
});

describe('ShadowConfig limits (src/model/limits.ts and SHADOW_HYPER_LIMITS), the same on saving and loading', () => {
  const bad = (o: Partial<ShadowConfig>) => () => shadowConfig(o);
  it('sizes above the table are refused before anything is allocated; the limits themselves pass', () => {
    expect(errorOf(bad({ num_shadow_layers: 1e9 }), ShadowErrorCode.tooFewShadowLayers)).toContain('≤ 256');
    expect(shadowConfig({ num_shadow_layers: 256 }).num_shadow_layers).toBe(256);
    expect(errorOf(bad({ injection_hidden_size: 65_537 }), ShadowErrorCode.injectionTooSmall)).toContain('≤ 65,536');
    expect(errorOf(bad({ gate_hidden_size: 1e7 }), ShadowErrorCode.gateTooSmall)).toContain('≤ 65,536');
    expect(errorOf(bad({ shadow_intermediate_size: 262_145 }), ShadowErrorCode.badShadowSize)).toContain('≤ 262,144');
    expect(errorOf(bad({ shadow_num_attention_heads: 2000 }), ShadowErrorCode.badShadowSize)).toContain('≤ 1,024');
  });
  it('alpha beyond ±1000 is refused by the rule that refuses non-finite alpha; λ has its own range', () => {
    expect(errorOf(bad({ alpha: 1e308 }), ShadowErrorCode.alphaNotFinite)).toContain('alpha is 1e+308; it must be a finite number with |alpha| ≤ 1000');
    expect(errorOf(bad({ alpha: -1001 }), ShadowErrorCode.alphaNotFinite)).toContain('alpha is -1001');
    expect(shadowConfig({ alpha: -1000 }).alpha).toBe(-1000);
    expect(shadowLossWeightIssue(0.05, '')).toBeNull();
    for (const v of [undefined, null, -1, 101, NaN, '0.05']) expect(shadowLossWeightIssue(v, 'batch.json: ')?.code).toBe(ShadowErrorCode.lossWeightOutOfRange);
  });
});
