import { describe, expect, it } from 'vitest';
import { shadowConfig } from './config';
import { countShadowParams, loraEquivalentRank, loraParamCount, loraParamsPerRank, shadowParamBreakdown } from './paramCount';
import { resolveExplicitShadow, resolveShadow } from './resolve';
import { QWEN2_5_0_5B, QWEN3_0_6B, QWEN3_8B } from './testing/baseArchitectures';

// docs/shadowpeft.md §9: N_s 1, I_s 256, r 16, g 10 on Qwen3-0.6B.
const recipe = shadowConfig({ shadow_intermediate_size: 256, injection_hidden_size: 16, gate_hidden_size: 10, num_shadow_layers: 1 });

describe('shadow trainable-parameter count', () => {
  it('Qwen3-0.6B §9 recipe: exactly 9,073,920, split as in the paper formulas', () => {
    const b = countShadowParams(recipe, QWEN3_0_6B);
    expect(b.total).toBe(9_073_920);
    // backbone: 1024·2048·2 (q, o) + 2·1024·1024 (k, v) + 2·128 (q/k norm) + 3·1024·256 + 2·1024, + final norm 1024
    expect(b.backbone).toBe(7_081_216);
    expect(b.injection).toBe(27 * 2 * 1024 * 16);
    expect(b.update).toBe(27 * 4 * 1024 * 10 + 2 * 1024);
    expect(b.projection).toBe(0);
  });

  it('Qwen2 shadows carry q/k/v biases ((NH + 2·NKV)·HS per layer) and no q/k norm', () => {
    const withBias = countShadowParams(recipe, QWEN2_5_0_5B).backbone;
    const withoutBias = countShadowParams(recipe, { ...QWEN2_5_0_5B, qkvBias: false }).backbone;
    expect(withBias - withoutBias).toBe((14 + 2 * 2) * 64);
    const asQwen3 = countShadowParams(recipe, { ...QWEN2_5_0_5B, qkvBias: false, qkNorm: true }).backbone;
    expect(asQwen3 - withoutBias).toBe(2 * 64);
  });

  it('more shadow layers add whole layers', () => {
    const one = countShadowParams(recipe, QWEN3_0_6B).backbone;
    const three = countShadowParams({ ...recipe, num_shadow_layers: 3 }, QWEN3_0_6B).backbone;
    expect(three - one).toBe(2 * (7_081_216 - 1024));
  });

  it('explicit shadow: own embeddings and the projection count', () => {
    const b = shadowParamBreakdown(resolveExplicitShadow(recipe, QWEN3_8B, QWEN3_0_6B, { ownEmbeddings: true }));
    expect(b.projection).toBe(4096 * 1024);
    const layer = 1024 * 2048 * 2 + 2 * 1024 * 1024 + 256 + 3 * 1024 * 3072 + 2048;
    expect(b.backbone).toBe(28 * layer + 1024 + 151936 * 1024);
    expect(b.total).toBe(b.backbone + b.injection + b.update + b.projection);
  });
});

describe('LoRA equivalence', () => {
  it('LoRA r=32 on q/k/v/o of Qwen3-0.6B costs 9,175,040 (docs/shadowpeft.md §9)', () => {
    expect(loraParamCount(QWEN3_0_6B, 32)).toBe(9_175_040);
    expect(loraEquivalentRank(QWEN3_0_6B, 9_175_040)).toBe(32);
  });

  it('the §9 shadow equals LoRA rank ≈ 31.65 on q/k/v/o', () => {
    const total = shadowParamBreakdown(resolveShadow(recipe, QWEN3_0_6B)).total;
    // per rank: 28 · ((1024+2048) + 2·(1024+1024) + (2048+1024)) = 286,720
    expect(loraEquivalentRank(QWEN3_0_6B, total)).toBe(9_073_920 / 286_720);
  });

  it('MLP targets use I; duplicate targets count once', () => {
    expect(loraParamsPerRank(QWEN3_0_6B, ['q', 'k', 'v', 'o', 'gate', 'up', 'down'])).toBe(28 * (10_240 + 3 * (1024 + 3072)));
    expect(loraParamsPerRank(QWEN3_0_6B, ['q', 'q'])).toBe(28 * 3072);
  });
});
