import { describe, expect, it } from 'vitest';
import type { AdapterPart, AdapterTensorSpec } from './adapterFormat';
import { adapterTensors, checkAdapterTensors, numelOf } from './adapterFormat';
import { shadowConfig } from './config';
import { ShadowErrorCode } from './errors';
import { shadowParamBreakdown } from './paramCount';
import type { ResolvedShadow } from './resolve';
import { resolveExplicitShadow, resolveShadow } from './resolve';
import { QWEN2_5_0_5B, QWEN3_0_6B, QWEN3_8B } from './testing/baseArchitectures';
import { errorOf } from './testing/errorOf';

const recipe = shadowConfig({ shadow_intermediate_size: 256, dropout: 0.2 });

function byKey(list: AdapterTensorSpec[]): Map<string, AdapterTensorSpec> {
  return new Map(list.map((t) => [t.key, t]));
}

/** The size table and the closed-form count are written independently; they must agree per part. */
function expectTableMatchesCount(r: ResolvedShadow) {
  const list = adapterTensors(r);
  const sums: Record<AdapterPart, number> = { backbone: 0, injection: 0, update: 0, projection: 0 };
  let frozen = 0;
  for (const t of list) {
    if (t.trainable) sums[t.part] += numelOf(t.shape);
    else frozen += numelOf(t.shape);
  }
  const count = shadowParamBreakdown(r);
  expect(sums).toEqual({ backbone: count.backbone, injection: count.injection, update: count.update, projection: count.projection });
  expect(frozen).toBe(count.frozen);
  expect(new Set(list.map((t) => t.key)).size).toBe(list.length);
  for (const t of list) expect(t.decay, t.key).toBe(t.shape.length >= 2);
  return list;
}

describe('adapter tensor table (shadow_adapter.safetensors)', () => {
  it('Qwen3-0.6B §9 recipe: 124 tensors summing to exactly 9,073,920', () => {
    const list = expectTableMatchesCount(resolveShadow(recipe, QWEN3_0_6B));
    expect(list.reduce((s, t) => s + numelOf(t.shape), 0)).toBe(9_073_920);
    // 11 per layer + final norm + 2 injection + 27·4 update + 2 LayerNorm
    expect(list).toHaveLength(11 + 1 + 2 + 108 + 2);
  });

  it('keys and shapes follow the reference package (§8 table)', () => {
    const t = byKey(adapterTensors(resolveShadow(recipe, QWEN3_0_6B)));
    const shape = (k: string) => t.get(k)?.shape;
    expect(shape('shadow_model.layers.0.self_attn.q_proj.weight')).toEqual([2048, 1024]);
    expect(shape('shadow_model.layers.0.self_attn.k_proj.weight')).toEqual([1024, 1024]);
    expect(shape('shadow_model.layers.0.self_attn.o_proj.weight')).toEqual([1024, 2048]);
    expect(shape('shadow_model.layers.0.self_attn.q_norm.weight')).toEqual([128]);
    expect(shape('shadow_model.layers.0.mlp.gate_proj.weight')).toEqual([256, 1024]);
    expect(shape('shadow_model.layers.0.mlp.down_proj.weight')).toEqual([1024, 256]);
    expect(shape('shadow_model.layers.0.post_attention_layernorm.weight')).toEqual([1024]);
    expect(shape('shadow_model.norm.weight')).toEqual([1024]);
    // (L−1, C, r): not torch layout
    expect(shape('shadow_injection_model.injection_downs')).toEqual([27, 1024, 16]);
    expect(shape('shadow_injection_model.injection_ups')).toEqual([27, 16, 1024]);
    expect(shape('shadow_update_model.update_gates.0.0.weight')).toEqual([10, 1024]);
    expect(shape('shadow_update_model.update_gates.26.2.weight')).toEqual([1024, 10]);
    expect(shape('shadow_update_model.update_transforms.26.3.weight')).toEqual([1024, 10]);
    expect(t.has('shadow_update_model.update_transforms.0.2.weight')).toBe(false);
    expect(t.has('shadow_update_model.update_gates.27.0.weight')).toBe(false);
    expect(t.get('shadow_update_model.hidden_norm.bias')).toEqual({ key: 'shadow_update_model.hidden_norm.bias', shape: [1024], decay: false, part: 'update', trainable: true });
    expect(t.has('shadow_hidden_projection.weight')).toBe(false);
    expect([...t.keys()].some((k) => k.includes('embed_tokens') || k.includes('lm_head') || k.includes('rotary'))).toBe(false);
  });

  it('weight decay: off exactly for 1-D tensors (norm weights, biases)', () => {
    const list = adapterTensors(resolveShadow(recipe, QWEN2_5_0_5B));
    const noDecay = list.filter((t) => !t.decay).map((t) => t.key.replace(/^shadow_model\.layers\.0\./, ''));
    expect(noDecay).toEqual([
      'self_attn.q_proj.bias',
      'self_attn.k_proj.bias',
      'self_attn.v_proj.bias',
      'input_layernorm.weight',
      'post_attention_layernorm.weight',
      'shadow_model.norm.weight',
      'shadow_update_model.hidden_norm.weight',
      'shadow_update_model.hidden_norm.bias',
    ]);
  });

  it('Qwen2 (biases), Llama with attention_bias (o bias too) and several layers match the count', () => {
    const q2 = byKey(expectTableMatchesCount(resolveShadow(recipe, QWEN2_5_0_5B)));
    expect(q2.get('shadow_model.layers.0.self_attn.k_proj.bias')?.shape).toEqual([128]);
    expect(q2.has('shadow_model.layers.0.self_attn.q_norm.weight')).toBe(false);
    const llama = byKey(expectTableMatchesCount(resolveShadow({ ...recipe, num_shadow_layers: 2 }, { ...QWEN2_5_0_5B, modelType: 'llama' })));
    expect(llama.get('shadow_model.layers.1.self_attn.o_proj.bias')?.shape).toEqual([896]);
    expectTableMatchesCount(resolveShadow(shadowConfig({ num_shadow_layers: 3, shadow_num_attention_heads: 4, shadow_num_key_value_heads: 2, shadow_head_dim: 32 }), QWEN3_0_6B));
  });

  it('explicit shadow of another width: own embeddings and shadow_hidden_projection (C, C_s)', () => {
    const t = byKey(expectTableMatchesCount(resolveExplicitShadow(recipe, QWEN3_8B, QWEN3_0_6B, { ownEmbeddings: true })));
    expect(t.get('shadow_hidden_projection.weight')).toEqual({ key: 'shadow_hidden_projection.weight', shape: [4096, 1024], decay: true, part: 'projection', trainable: true });
    expect(t.get('shadow_model.embed_tokens.weight')?.shape).toEqual([151936, 1024]);
    expect(t.get('shadow_injection_model.injection_downs')?.shape).toEqual([35, 4096, 16]);
  });

  it('frozen own embeddings stay in the file but leave the trainable count', () => {
    const trained = shadowParamBreakdown(resolveExplicitShadow(recipe, QWEN3_8B, QWEN3_0_6B, { ownEmbeddings: true }));
    const r = resolveExplicitShadow(recipe, QWEN3_8B, QWEN3_0_6B, { ownEmbeddings: true, freezeEmbeddings: true });
    const t = byKey(expectTableMatchesCount(r));
    expect(t.get('shadow_model.embed_tokens.weight')).toMatchObject({ shape: [151936, 1024], trainable: false });
    const frozen = shadowParamBreakdown(r);
    expect(frozen.frozen).toBe(151936 * 1024);
    expect(frozen.total).toBe(trained.total - 151936 * 1024);
  });
});

describe('strict adapter check', () => {
  const tiny = resolveShadow(shadowConfig({ gate_hidden_size: 2, injection_hidden_size: 1 }), { ...QWEN3_0_6B, numLayers: 3, hiddenSize: 8, numHeads: 2, numKvHeads: 1, headDim: 4, intermediateSize: 6, vocabSize: 11 });
  const spec = adapterTensors(tiny);
  const file = () => new Map(spec.map((t) => [t.key, [...t.shape]]));

  it('accepts exactly the expected tensors', () => {
    expect(() => checkAdapterTensors(spec, file())).not.toThrow();
  });

  it('names a missing, a mis-shaped and an unexpected key', () => {
    const missing = file();
    missing.delete('shadow_update_model.update_transforms.1.3.weight');
    expect(errorOf(() => checkAdapterTensors(spec, missing), ShadowErrorCode.adapterKeyMissing)).toContain("'shadow_update_model.update_transforms.1.3.weight' (8, 2)");
    const misShaped = file();
    misShaped.set('shadow_injection_model.injection_downs', [2, 1, 8]); // torch layout by mistake
    expect(errorOf(() => checkAdapterTensors(spec, misShaped), ShadowErrorCode.adapterShapeMismatch)).toContain('shape (2, 1, 8), expected (2, 8, 1)');
    const extra = file();
    extra.set('lm_head.weight', [11, 8]);
    expect(errorOf(() => checkAdapterTensors(spec, extra), ShadowErrorCode.adapterKeyUnexpected)).toContain("'lm_head.weight'");
  });
});
