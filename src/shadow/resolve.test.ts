import { describe, expect, it } from 'vitest';
import { shadowConfig } from './config';
import { ShadowErrorCode } from './errors';
import { resolveExplicitShadow, resolveShadow } from './resolve';
import { QWEN2_5_0_5B, QWEN3_0_6B, QWEN3_8B } from './testing/baseArchitectures';
import { errorOf } from './testing/errorOf';

const recipe = shadowConfig({ shadow_intermediate_size: 256, dropout: 0.2 });

describe('resolveShadow (implicit shadow)', () => {
  it('Qwen3-0.6B with the §9 recipe: one Qwen3 layer at I_s 256, 27 slots', () => {
    const r = resolveShadow(recipe, QWEN3_0_6B);
    expect({ C: r.C, L: r.L, slots: r.slots, R: r.R, G: r.G, alpha: r.alpha, dropout: r.dropout }).toEqual({ C: 1024, L: 28, slots: 27, R: 16, G: 10, alpha: 0.1, dropout: 0.2 });
    expect(r.backbone).toEqual({ modelType: 'qwen3', N: 1, C: 1024, NH: 16, NKV: 8, HS: 128, I: 256, qkNorm: true, qkvBias: false, oBias: false, rmsNormEps: 1e-6, ropeTheta: 1_000_000 });
    expect(r.explicit).toBe(false);
    expect(r.projection).toBe(false);
    expect(r.ownEmbeddingRows).toBeNull();
  });

  it('null overrides take the base values; set ones replace them', () => {
    const r = resolveShadow(shadowConfig(), QWEN3_0_6B);
    expect([r.backbone.I, r.backbone.NH, r.backbone.NKV, r.backbone.HS]).toEqual([3072, 16, 8, 128]);
    const s = resolveShadow(shadowConfig({ num_shadow_layers: 3, shadow_num_attention_heads: 6, shadow_num_key_value_heads: 2, shadow_head_dim: 64, shadow_intermediate_size: 100 }), QWEN3_0_6B);
    expect([s.backbone.N, s.backbone.NH, s.backbone.NKV, s.backbone.HS, s.backbone.I]).toEqual([3, 6, 2, 64, 100]);
  });

  it('base with fewer than 2 layers is refused; 2 layers give one slot', () => {
    const m = errorOf(() => resolveShadow(recipe, { ...QWEN3_0_6B, numLayers: 1 }), ShadowErrorCode.baseTooShallow);
    expect(m).toContain('1 decoder layer');
    expect(resolveShadow(recipe, { ...QWEN3_0_6B, numLayers: 2 }).slots).toBe(1);
  });

  it('heads must be a multiple of kv heads, resolved against the base when null', () => {
    // 12 query heads against the base's 8 kv heads.
    const m = errorOf(() => resolveShadow(shadowConfig({ shadow_num_attention_heads: 12 }), QWEN3_0_6B), ShadowErrorCode.headsNotMultiple);
    expect(m).toContain('resolves to 12');
    expect(m).toContain('to 8 (the base value)');
    errorOf(() => resolveShadow(shadowConfig({ shadow_num_key_value_heads: 3 }), QWEN3_0_6B), ShadowErrorCode.headsNotMultiple);
    expect(resolveShadow(shadowConfig({ shadow_num_attention_heads: 8 }), QWEN3_0_6B).backbone.NH).toBe(8);
  });

  it('an odd shadow head size is refused (RoPE rotates pairs)', () => {
    expect(errorOf(() => resolveShadow(shadowConfig({ shadow_head_dim: 63 }), QWEN3_0_6B), ShadowErrorCode.headDimOdd)).toContain('63');
  });

  it('base-independent rules still apply', () => {
    errorOf(() => resolveShadow({ ...recipe, gate_hidden_size: 1 }, QWEN3_0_6B), ShadowErrorCode.gateTooSmall);
  });

  it('an inconsistent base architecture is refused naming the field', () => {
    expect(errorOf(() => resolveShadow(recipe, { ...QWEN3_0_6B, numKvHeads: 5 }), ShadowErrorCode.badBaseArchitecture)).toContain('numHeads 16 is not a multiple of numKvHeads 5');
    expect(errorOf(() => resolveShadow(recipe, { ...QWEN3_0_6B, hiddenSize: 0 }), ShadowErrorCode.badBaseArchitecture)).toContain('hiddenSize is 0');
  });

  it('Qwen2: q/k/v bias carried over; overridden heads re-derive the head size as C / NH_s', () => {
    const r = resolveShadow(shadowConfig(), QWEN2_5_0_5B);
    expect([r.backbone.qkvBias, r.backbone.oBias, r.backbone.qkNorm, r.backbone.HS]).toEqual([true, false, false, 64]);
    expect(resolveShadow(shadowConfig({ shadow_num_attention_heads: 7, shadow_num_key_value_heads: 1 }), QWEN2_5_0_5B).backbone.HS).toBe(128);
    expect(resolveShadow(shadowConfig({ shadow_num_attention_heads: 7, shadow_num_key_value_heads: 1, shadow_head_dim: 32 }), QWEN2_5_0_5B).backbone.HS).toBe(32);
    errorOf(() => resolveShadow(shadowConfig({ shadow_num_attention_heads: 6, shadow_num_key_value_heads: 2 }), QWEN2_5_0_5B), ShadowErrorCode.badShadowSize);
  });

  it('Llama attention_bias also biases o_proj', () => {
    const llama = { ...QWEN2_5_0_5B, modelType: 'llama' as const };
    expect(resolveShadow(shadowConfig(), llama).backbone.oBias).toBe(true);
    expect(resolveShadow(shadowConfig(), { ...llama, qkvBias: false }).backbone.oBias).toBe(false);
  });
});

describe('resolveExplicitShadow', () => {
  it('Qwen3-0.6B as the shadow of Qwen3-8B: its own layers and embeddings, a 4096×1024 projection', () => {
    const r = resolveExplicitShadow(recipe, QWEN3_8B, QWEN3_0_6B, { ownEmbeddings: true });
    expect([r.C, r.slots, r.backbone.C, r.backbone.N, r.backbone.I, r.ownEmbeddingRows, r.projection]).toEqual([4096, 35, 1024, 28, 3072, 151936, true]);
  });

  it('a shadow of another width cannot be fed the base embeddings', () => {
    errorOf(() => resolveExplicitShadow(recipe, QWEN3_8B, QWEN3_0_6B, { ownEmbeddings: false }), ShadowErrorCode.explicitShadowMismatch);
    const same = resolveExplicitShadow(recipe, QWEN3_0_6B, { ...QWEN3_0_6B, numLayers: 4 }, { ownEmbeddings: false });
    expect([same.projection, same.ownEmbeddingRows, same.backbone.N]).toEqual([false, null, 4]);
  });
});
