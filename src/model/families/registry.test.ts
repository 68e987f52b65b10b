import { describe, expect, it } from 'vitest';
import { isStudioError } from '../../engine/errors';
import { parameterCount } from '../config';
import { ModelErrorCode } from '../errors';
import { LLAMA_3_2_1B, QWEN2_5_0_5B, QWEN3_0_6B, SMOLLM2_135M } from '../testing/hubConfigs';
import { weightSpecs } from '../weights';
import type { HfConfig } from './hfConfig';
import { FAMILIES, modelConfigFromHf } from './registry';
import { SIZE_LIMITS } from '../limits';

/** Maps and expects this code, with every `parts` in the message. */
function expectConfigError(cfg: HfConfig, code: string, parts: string[]): void {
  let error: unknown = null;
  try {
    modelConfigFromHf(cfg);
  } catch (e) {
    error = e;
  }
  if (!isStudioError(error)) throw new Error(`expected StudioError ${code}, got ${error === null ? 'a config' : String(error)}`);
  expect(error.code, error.message).toBe(code);
  for (const p of parts) expect(error.message).toContain(p);
}

/** Sum of the size table; must agree with the closed formula of parameterCount. */
const specParams = (cfg: HfConfig) => weightSpecs(modelConfigFromHf(cfg)).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);

describe('qwen3', () => {
  it('Qwen3-0.6B: explicit head_dim 128 ≠ hidden/heads = 64, q/k norm, no biases, tied', () => {
    const c = modelConfigFromHf(QWEN3_0_6B);
    expect(c).toEqual({
      modelType: 'qwen3',
      hiddenSize: 1024,
      intermediateSize: 3072,
      numLayers: 28,
      numHeads: 16,
      numKvHeads: 8,
      headDim: 128,
      vocabSize: 151936,
      rmsNormEps: 1e-6,
      ropeTheta: 1_000_000,
      ropeScaling: null,
      tieWordEmbeddings: true,
      qkNorm: true,
      qkvBias: false,
      maxPositionEmbeddings: 40960,
      bosTokenId: 151643,
      eosTokenIds: [151645],
      torchDtype: 'bfloat16',
    });
    const specs = new Map(weightSpecs(c).map((s) => [s.name, s.shape]));
    expect(specs.get('model.layers.0.self_attn.q_proj.weight')).toEqual([16 * 128, 1024]);
    expect(specs.get('model.layers.0.self_attn.o_proj.weight')).toEqual([1024, 16 * 128]);
    expect(specs.get('model.layers.27.self_attn.k_norm.weight')).toEqual([128]);
    expect(specs.has('lm_head.weight')).toBe(false);
  });

  it('parameterCount of Qwen3-0.6B is 596,049,920 (tied)', () => {
    // By hand, C = 1024, NH·HS = 2048, NKV·HS = 1024, I = 3072, V = 151936, L = 28:
    //   q 1024·2048 = 2,097,152; k + v 2·1024·1024 = 2,097,152; o 2048·1024 = 2,097,152
    //   mlp 3·1024·3072 = 9,437,184; norms 2·1024 + 2·128 = 2,304   → layer 15,730,944
    //   28 layers 440,466,432 + embedding 151936·1024 = 155,582,464 + final norm 1,024
    //   = 596,049,920 (the head shares the embedding).
    expect(parameterCount(modelConfigFromHf(QWEN3_0_6B))).toBe(596_049_920);
    expect(specParams(QWEN3_0_6B)).toBe(596_049_920);
  });

  it('an untied Qwen3 counts the head separately', () => {
    const c = modelConfigFromHf({ ...QWEN3_0_6B, tie_word_embeddings: false });
    expect(parameterCount(c)).toBe(596_049_920 + 151936 * 1024);
    expect(weightSpecs(c).at(-1)).toEqual({ name: 'lm_head.weight', shape: [151936, 1024] });
  });

  it('rejects rope_scaling, sliding windows and attention biases', () => {
    expectConfigError({ ...QWEN3_0_6B, rope_scaling: { rope_type: 'yarn', factor: 4 } }, ModelErrorCode.unsupportedOption, ['qwen3', 'rope_scaling']);
    expectConfigError({ ...QWEN3_0_6B, use_sliding_window: true }, ModelErrorCode.unsupportedOption, ['use_sliding_window']);
    expectConfigError({ ...QWEN3_0_6B, attention_bias: true }, ModelErrorCode.unsupportedOption, ['attention_bias']);
  });
});

describe('qwen2', () => {
  it('Qwen2.5-0.5B: biases on q, k, v; head_dim = hidden/heads; sliding_window ignored while unused', () => {
    const c = modelConfigFromHf(QWEN2_5_0_5B);
    expect(c).toMatchObject({ modelType: 'qwen2', hiddenSize: 896, numHeads: 14, numKvHeads: 2, headDim: 64, qkvBias: true, qkNorm: false, tieWordEmbeddings: true, maxPositionEmbeddings: 32768 });
    const specs = new Map(weightSpecs(c).map((s) => [s.name, s.shape]));
    expect(specs.get('model.layers.0.self_attn.q_proj.bias')).toEqual([896]);
    expect(specs.get('model.layers.0.self_attn.k_proj.bias')).toEqual([128]);
    expect(specs.get('model.layers.0.self_attn.v_proj.bias')).toEqual([128]);
    expect(specs.has('model.layers.0.self_attn.q_norm.weight')).toBe(false);
    // By hand: q 896·896 + 896 = 803,712; k + v 2·(896·128 + 128) = 229,632; o 802,816;
    // mlp 3·896·4864 = 13,074,432; norms 1,792 → layer 14,912,384; ·24 = 357,897,216;
    // + embedding 151936·896 = 136,134,656 + final norm 896 = 494,032,768.
    expect(parameterCount(c)).toBe(494_032_768);
    expect(specParams(QWEN2_5_0_5B)).toBe(494_032_768);
  });

  it('rejects use_sliding_window and rope_scaling', () => {
    expectConfigError({ ...QWEN2_5_0_5B, use_sliding_window: true }, ModelErrorCode.unsupportedOption, ['qwen2', 'use_sliding_window = true', 'supported: false']);
    expectConfigError({ ...QWEN2_5_0_5B, rope_scaling: { type: 'linear', factor: 2 } }, ModelErrorCode.unsupportedOption, ['qwen2', 'rope_scaling']);
  });
});

describe('llama', () => {
  it('Llama-3.2-1B: the llama3 rope_scaling is parsed, eos ids stay a list', () => {
    const c = modelConfigFromHf(LLAMA_3_2_1B);
    expect(c.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect(c).toMatchObject({ modelType: 'llama', headDim: 64, numKvHeads: 8, ropeTheta: 500_000, rmsNormEps: 1e-5, tieWordEmbeddings: true, qkvBias: false, qkNorm: false, eosTokenIds: [128001, 128008, 128009], bosTokenId: 128000 });
    // By hand: q 2048² = 4,194,304; k + v 2·2048·512 = 2,097,152; o 4,194,304; mlp 3·2048·8192 =
    // 50,331,648; norms 4,096 → layer 60,821,504; ·16 = 973,144,064; + embedding 128256·2048 =
    // 262,668,288 + 2,048 = 1,235,814,400.
    expect(parameterCount(c)).toBe(1_235_814_400);
  });

  it('SmolLM2-135M: tied embeddings, no head_dim key (hidden/heads = 64), no rope scaling', () => {
    const c = modelConfigFromHf(SMOLLM2_135M);
    expect(c).toMatchObject({ modelType: 'llama', hiddenSize: 576, numHeads: 9, numKvHeads: 3, headDim: 64, ropeScaling: null, ropeTheta: 100_000, tieWordEmbeddings: true, vocabSize: 49152 });
    expect(weightSpecs(c).some((s) => s.name === 'lm_head.weight')).toBe(false);
    // By hand: q 576² = 331,776; k + v 2·576·192 = 221,184; o 331,776; mlp 3·576·1536 = 2,654,208;
    // norms 1,152 → layer 3,540,096; ·30 = 106,202,880; + 49152·576 = 28,311,552 + 576 = 134,515,008.
    expect(parameterCount(c)).toBe(134_515_008);
    expect(specParams(SMOLLM2_135M)).toBe(134_515_008);
  });

  it('transformers 5 configs (rope_parameters, dtype) map to the same ModelConfig as the older form', () => {
    const { rope_theta: theta, rope_scaling: scaling, torch_dtype: dtype, ...rest } = LLAMA_3_2_1B as Record<string, unknown>;
    const v5 = { ...rest, dtype, rope_parameters: { ...(scaling as object), rope_theta: theta } };
    expect(modelConfigFromHf(v5)).toEqual(modelConfigFromHf(LLAMA_3_2_1B));
    const { rope_theta: qTheta, rope_scaling: _none, ...qRest } = QWEN3_0_6B as Record<string, unknown>;
    const qwenV5 = { ...qRest, rope_parameters: { rope_theta: qTheta, rope_type: 'default' } };
    expect(modelConfigFromHf(qwenV5)).toEqual(modelConfigFromHf(QWEN3_0_6B));
    expect(modelConfigFromHf({ ...qRest, rope_parameters: { rope_theta: 5e5 } }).ropeTheta).toBe(5e5);
    expectConfigError({ ...qRest, rope_parameters: { rope_theta: qTheta, rope_type: 'yarn', factor: 4 } }, ModelErrorCode.unsupportedOption, ['qwen3', 'rope_parameters.rope_type = "yarn"']);
    expectConfigError({ ...rest, rope_parameters: { rope_type: 'llama3', rope_theta: theta } }, ModelErrorCode.badConfig, ['rope_parameters.factor']);
    expectConfigError({ ...qRest, rope_parameters: [1] }, ModelErrorCode.badConfig, ['rope_parameters must be an object']);
  });

  it('rope_scaling "default" means none; other types and incomplete llama3 blocks are refused', () => {
    expect(modelConfigFromHf({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeNull();
    expectConfigError({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'yarn', factor: 4 } }, ModelErrorCode.unsupportedOption, ['rope_scaling.rope_type = "yarn"', '"llama3"']);
    const { factor: _factor, ...noFactor } = LLAMA_3_2_1B.rope_scaling as Record<string, unknown>;
    expectConfigError({ ...LLAMA_3_2_1B, rope_scaling: noFactor }, ModelErrorCode.badConfig, ['rope_scaling.factor']);
    expectConfigError({ ...SMOLLM2_135M, attention_bias: true }, ModelErrorCode.unsupportedOption, ['attention_bias']);
    expectConfigError({ ...SMOLLM2_135M, mlp_bias: true }, ModelErrorCode.unsupportedOption, ['mlp_bias']);
    expectConfigError({ ...SMOLLM2_135M, pretraining_tp: 2 }, ModelErrorCode.unsupportedOption, ['pretraining_tp']);
  });
});

describe('defaults and validation', () => {
  const minimal = { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };

  // The defaults of transformers' Qwen3Config / Qwen2Config / LlamaConfig: a config.json without the
  // key must load as transformers would load it. Qwen3's head_dim defaults to 128, not hidden / heads.
  it.each([
    ['qwen3', 128, 10_000, 32_768],
    ['qwen2', 16, 10_000, 32_768],
    ['llama', 16, 10_000, 2048],
  ])('%s: missing keys take the transformers defaults', (modelType, headDim, ropeTheta, maxPositions) => {
    const c = modelConfigFromHf({ ...minimal, model_type: modelType });
    expect(c).toMatchObject({ numKvHeads: 4, headDim, rmsNormEps: 1e-6, ropeTheta, maxPositionEmbeddings: maxPositions, ropeScaling: null, tieWordEmbeddings: false, bosTokenId: null, eosTokenIds: [], torchDtype: 'float32' });
  });

  it('every family is registered under its model_type', () => {
    expect([...FAMILIES.keys()].sort()).toEqual(['llama', 'qwen2', 'qwen3']);
  });

  it('bad values are coded errors naming the key', () => {
    expectConfigError({ ...QWEN3_0_6B, hidden_size: '1024' }, ModelErrorCode.badConfig, ["'hidden_size'", '"1024"']);
    expectConfigError({ ...QWEN3_0_6B, num_hidden_layers: 0 }, ModelErrorCode.badConfig, ["'num_hidden_layers'"]);
    expectConfigError({ ...QWEN3_0_6B, rms_norm_eps: 'small' }, ModelErrorCode.badConfig, ["'rms_norm_eps'"]);
    expectConfigError({ ...QWEN3_0_6B, tie_word_embeddings: 1 }, ModelErrorCode.badConfig, ["'tie_word_embeddings'"]);
    expectConfigError({ ...QWEN3_0_6B, num_key_value_heads: 3 }, ModelErrorCode.badConfig, ['num_attention_heads 16 is not a multiple of num_key_value_heads 3']);
    expectConfigError({ ...QWEN3_0_6B, hidden_act: 'gelu' }, ModelErrorCode.unsupportedOption, ['hidden_act = "gelu"']);
    expectConfigError({ ...QWEN3_0_6B, model_type: undefined }, ModelErrorCode.unknownModelType, ['model_type undefined', 'qwen3', 'qwen2', 'llama']);
  });
});

describe('the limits table (src/model/limits.ts) bounds every size before anything is allocated', () => {
  it.each([
    ['num_hidden_layers', SIZE_LIMITS.layers],
    ['vocab_size', SIZE_LIMITS.vocab],
    ['max_position_embeddings', SIZE_LIMITS.positions],
    ['intermediate_size', SIZE_LIMITS.intermediate],
    ['num_attention_heads', 1024],
  ])('%s: the limit %d maps, one more is E127', (key, max) => {
    const cfg = key === 'num_attention_heads' ? { ...QWEN3_0_6B, num_key_value_heads: 1 } : QWEN3_0_6B;
    expect(() => modelConfigFromHf({ ...cfg, [key]: max })).not.toThrow();
    expectConfigError({ ...cfg, [key]: max + 1 }, ModelErrorCode.outOfLimits, [`'${key}' is ${max + 1}`, 'src/model/limits.ts']);
  });
  it('integers beyond 2^53 and non-positive floats are refused with the key named', () => {
    expectConfigError({ ...QWEN3_0_6B, vocab_size: 1e300 }, ModelErrorCode.badConfig, ["'vocab_size' must be an integer"]);
    for (const [key, v] of [['rms_norm_eps', -1], ['rms_norm_eps', 0], ['rms_norm_eps', 2], ['rope_theta', 0], ['rope_theta', -1e4]] as const) {
      expectConfigError({ ...QWEN3_0_6B, [key]: v }, ModelErrorCode.badConfig, [`'${key}' is ${v}`]);
    }
    expectConfigError({ ...QWEN3_0_6B, head_dim: 7 }, ModelErrorCode.badConfig, ['the head size is 7']);
    expectConfigError({ ...QWEN2_5_0_5B, num_attention_heads: 5, num_key_value_heads: 1 }, ModelErrorCode.badConfig, ['hidden_size 896 is not a multiple of num_attention_heads 5']);
  });
});
