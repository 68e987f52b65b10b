import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model/config';
import { parameterCount } from '../model/config';
import type { HfConfig } from '../model/families/hfConfig';
import { modelConfigFromHf } from '../model/families/registry';
import { layerDimsOf } from '../model/layerDims';
import { layerWorkspaceSizes } from '../model/layerWorkspace';
import { LLAMA_3_2_1B, QWEN2_5_0_5B as QWEN2_5_0_5B_HF, QWEN3_0_6B as QWEN3_0_6B_HF, SMOLLM2_135M } from '../model/testing/hubConfigs';
import { shadowConfigIssues } from './config';
import { baseArchitectureOf } from './fromModel';
import { countShadowParams } from './paramCount';
import type { PresetTarget, ShadowPreset } from './presets';
import { fitPresetBatch, largestLayerActivationBytes, MODEL_SIZE_CLASSES, modelSizeClass, modelSizeClassOf, presetsOfClass, recommendedPreset, SHADOW_PRESETS, shadowPreset } from './presets';
import { resolveShadow } from './resolve';
import { QWEN3_0_6B, QWEN3_4B, QWEN3_8B } from './testing/baseArchitectures';

/** The bundled model's own config.json (public/models/kjv-llama-3m). */
const BUNDLED = modelConfigFromHf(JSON.parse(readFileSync(new URL('../../public/models/kjv-llama-3m/config.json', import.meta.url), 'utf8')) as HfConfig);
const SMOL = modelConfigFromHf(SMOLLM2_135M);
const QWEN06 = modelConfigFromHf(QWEN3_0_6B_HF);
/** Qwen3-4B / Qwen3-8B as published: the 0.6B config with their sizes (8B does not tie its embeddings). */
const QWEN4B = modelConfigFromHf({ ...QWEN3_0_6B_HF, hidden_size: 2560, num_hidden_layers: 36, num_attention_heads: 32, intermediate_size: 9728, max_position_embeddings: 40960 });
const QWEN8B = modelConfigFromHf({ ...QWEN3_0_6B_HF, hidden_size: 4096, num_hidden_layers: 36, num_attention_heads: 32, intermediate_size: 12288, max_position_embeddings: 40960, tie_word_embeddings: false });

/** The authors' published recipes (docs/shadowpeft.md §10), kept under the ids the CLI's --preset uses. */
const RECIPE_IDS = ['reasoning', 'extractive-qa', 'classification', 'reasoning-4b', 'reasoning-8b'];
const recipes = () => RECIPE_IDS.map((id) => shadowPreset(id)!);
const MiB = 2 ** 20;

/** What the studio fits a preset to, for a parsed config.json and no known device. */
function presetTargetOf(c: ModelConfig): PresetTarget {
  return { parameters: parameterCount(c), base: baseArchitectureOf(c), maxPositionEmbeddings: c.maxPositionEmbeddings, limits: null };
}

describe('authors’ recipes as presets (docs/shadowpeft.md §10)', () => {
  it('unique ids, one-line descriptions, valid configs that resolve on their bases', () => {
    expect(new Set(SHADOW_PRESETS.map((p) => p.id)).size).toBe(SHADOW_PRESETS.length);
    for (const p of SHADOW_PRESETS) {
      expect(p.description, p.id).not.toMatch(/\n/);
      expect(p.description.length, p.id).toBeGreaterThan(10);
      expect(shadowConfigIssues(p.shadow), p.id).toEqual([]);
      for (const base of [QWEN3_0_6B, QWEN3_4B, QWEN3_8B, baseArchitectureOf(BUNDLED)]) expect(() => resolveShadow(p.shadow, base), p.id).not.toThrow();
    }
    // the shadow keeps the base's heads below 4B; the 4B/8B recipes' 16 or 8 query heads need kv heads dividing them
    for (const p of SHADOW_PRESETS.filter((q) => q.sizeClass !== 'large')) expect(() => resolveShadow(p.shadow, baseArchitectureOf(SMOL)), p.id).not.toThrow();
  });

  it('learning rates: 3e-3 reasoning, 1e-3 SQuAD, 2e-4 MMLU/classification, 3e-3 for 4B/8B', () => {
    const lr = Object.fromEntries(recipes().map((p) => [p.id, p.training.learningRate]));
    expect(lr).toEqual({ reasoning: 3e-3, 'extractive-qa': 1e-3, classification: 2e-4, 'reasoning-4b': 3e-3, 'reasoning-8b': 3e-3 });
  });

  it('shared recipe: AdamW wd 0.01, warmup 0.01, linear, λ 0.05, max length 512, α 0.1, p 0.2, N_s 1, I_s 256, R 16', () => {
    for (const p of recipes()) {
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

describe('model size classes', () => {
  it('from the parameter count of config.json: bundled tiny, SmolLM2-135M small, Qwen3-0.6B medium, Qwen3-4B/8B large', () => {
    expect(parameterCount(BUNDLED)).toBeLessThan(4e6); // 3.2M: KJV Llama, C 256, 4 layers, V 1024
    const classes = (cs: ModelConfig[]) => cs.map(modelSizeClassOf);
    expect(classes([BUNDLED, SMOL, QWEN06, QWEN4B, QWEN8B])).toEqual(['tiny', 'small', 'medium', 'large', 'large']);
    expect(classes([modelConfigFromHf(QWEN2_5_0_5B_HF), modelConfigFromHf(LLAMA_3_2_1B)])).toEqual(['medium', 'medium']);
  });

  it('bounds: each class starts where the previous one ends', () => {
    expect(modelSizeClass(0)).toBe('tiny');
    expect(modelSizeClass(50e6 - 1)).toBe('tiny');
    expect(modelSizeClass(50e6)).toBe('small');
    expect(modelSizeClass(400e6)).toBe('medium');
    expect(modelSizeClass(2e9)).toBe('large');
    expect(modelSizeClass(70e9)).toBe('large');
    expect([modelSizeClass(NaN), recommendedPreset(NaN).id]).toEqual(['tiny', 'quick-start']); // unknown: the smallest batch
    expect(MODEL_SIZE_CLASSES.map((c) => c.id)).toEqual(['tiny', 'small', 'medium', 'large']);
  });

  it('every class has presets; the recipes sit in the classes of the bases they were run on', () => {
    for (const c of MODEL_SIZE_CLASSES) expect(presetsOfClass(c.id).length, c.id).toBeGreaterThan(0);
    expect(presetsOfClass('medium').map((p) => p.id)).toEqual(['reasoning', 'extractive-qa', 'classification']);
    expect(presetsOfClass('large').map((p) => p.id)).toEqual(['reasoning-4b', 'reasoning-8b']);
    expect(SHADOW_PRESETS.reduce((n, c) => n + (presetsOfClass(c.sizeClass).includes(c) ? 1 : 0), 0)).toBe(SHADOW_PRESETS.length);
  });
});

describe('the preset preselected for a model', () => {
  it('is one of its class, and the 4B or 8B recipe by the nearer base', () => {
    const pick = (c: ModelConfig) => recommendedPreset(parameterCount(c));
    for (const c of [BUNDLED, SMOL, QWEN06, QWEN4B, QWEN8B]) expect(pick(c).sizeClass).toBe(modelSizeClassOf(c));
    expect([BUNDLED, SMOL, QWEN06, QWEN4B, QWEN8B].map((c) => pick(c).id)).toEqual(['quick-start', 'reasoning-135m', 'reasoning', 'reasoning-4b', 'reasoning-8b']);
  });

  it('for the bundled model: micro-batch ≤ 4, max length ≤ 256 (its positions), one short epoch', () => {
    const p = recommendedPreset(parameterCount(BUNDLED));
    const fit = fitPresetBatch(p, presetTargetOf(BUNDLED));
    expect(BUNDLED.maxPositionEmbeddings).toBe(256);
    expect(fit.microBatchSize).toBeLessThanOrEqual(4);
    expect(fit.maxLength).toBeLessThanOrEqual(256);
    expect(fit.microBatchSize * fit.gradientAccumulation).toBeLessThanOrEqual(4);
    expect(fit.notes).toEqual([]); // nothing had to be cut: the preset is sized for it
    expect(p.training.epochs).toBe(1);
  });

  it('the quick-start shadow is sized for hidden 256: about a tenth of the bundled base', () => {
    const p = shadowPreset('quick-start')!;
    const r = resolveShadow(p.shadow, baseArchitectureOf(BUNDLED));
    expect(r.backbone).toMatchObject({ C: 256, I: 128, NH: 8, NKV: 4, HS: 32 }); // the width is always the base's
    expect(r.R).toBe(8);
    const total = countShadowParams(p.shadow, baseArchitectureOf(BUNDLED)).total;
    // 1 layer (3·65,536 attention + 3·256·128 MLP + 512 norms) + norm 256, injection 3·2·256·8, update 3·4·256·10 + 512
    expect(total).toBe(295_424 + 256 + 12_288 + 31_232);
    expect(total / parameterCount(BUNDLED)).toBeGreaterThan(0.05);
    expect(total / parameterCount(BUNDLED)).toBeLessThan(0.15);
  });
});

describe('fitting a preset to a base and a device', () => {
  const reasoning = shadowPreset('reasoning')!;

  it('never exceeds the model’s max_position_embeddings, and says why', () => {
    const short = modelConfigFromHf({ ...SMOLLM2_135M, max_position_embeddings: 200 });
    const fit = fitPresetBatch(reasoning, presetTargetOf(short));
    expect(fit.maxLength).toBe(200);
    expect(fit.notes).toEqual(['max length 200 (not 512): the model has 200 positions']);
    expect(fitPresetBatch(reasoning, { ...presetTargetOf(short), maxPositionEmbeddings: null }).maxLength).toBe(512);
    for (const p of SHADOW_PRESETS) expect(fitPresetBatch(p, presetTargetOf(BUNDLED)).maxLength, p.id).toBeLessThanOrEqual(256);
  });

  it('the recipe’s split where it fits: 0.6B reasoning as 8 × 4 of 512 tokens on WebGPU’s default 128 MiB binding', () => {
    const limits = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB };
    expect(fitPresetBatch(reasoning, { ...presetTargetOf(QWEN06), limits })).toEqual({ microBatchSize: 8, gradientAccumulation: 4, maxLength: 512, notes: [] });
    expect(fitPresetBatch(shadowPreset('reasoning-135m')!, { ...presetTargetOf(SMOL), limits })).toEqual({ microBatchSize: 4, gradientAccumulation: 4, maxLength: 512, notes: [] });
  });

  it('the largest layer activation is the largest tensor of the layer workspace’s own size table', () => {
    const qwen2 = modelConfigFromHf(QWEN2_5_0_5B_HF);
    for (const c of [BUNDLED, SMOL, QWEN06, QWEN4B, QWEN8B, qwen2]) {
      for (const [B, T] of [[1, 1], [2, 128], [3, 45], [8, 512]] as const) {
        const table = Math.max(...layerWorkspaceSizes(layerDimsOf(c), B, T, true).map((e) => 4 * e.shape.reduce((a, b) => a * b, 1)));
        expect(largestLayerActivationBytes(baseArchitectureOf(c), B, T), `${c.hiddenSize} ${B}×${T}`).toBe(table);
      }
    }
  });

  it('halves the micro-batch (keeping the batch) when a layer activation exceeds one binding or buffer', () => {
    // Qwen3-4B: (8·512, I 9728) f32 = 152 MiB > 128 MiB; (4·512, 9728) = 76 MiB fits
    const p = shadowPreset('reasoning-4b')!;
    expect(largestLayerActivationBytes(baseArchitectureOf(QWEN4B), 8, 512)).toBe(8 * 512 * 9728 * 4);
    const fit = fitPresetBatch(p, { ...presetTargetOf(QWEN4B), limits: { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB } });
    expect(fit).toMatchObject({ microBatchSize: 4, gradientAccumulation: 4, maxLength: 512 });
    expect(fit.notes).toEqual(['micro-batch 4 (not 8): a layer’s activations of 8 × 512 tokens exceed this device’s 128 MiB per buffer']);
    // the smaller of the two limits counts
    expect(fitPresetBatch(p, { ...presetTargetOf(QWEN4B), limits: { maxStorageBufferBindingSize: 1024 * MiB, maxBufferSize: 128 * MiB } }).microBatchSize).toBe(4);
    expect(fitPresetBatch(p, { ...presetTargetOf(QWEN4B), limits: { maxStorageBufferBindingSize: 1024 * MiB, maxBufferSize: 1024 * MiB } }).microBatchSize).toBe(8);
  });

  it('shortens the sequences only at micro-batch 1, and the result fits', () => {
    const limits = { maxStorageBufferBindingSize: 4 * MiB, maxBufferSize: 4 * MiB };
    const fit = fitPresetBatch(reasoning, { ...presetTargetOf(QWEN06), limits });
    expect(fit.microBatchSize).toBe(1);
    expect(fit.gradientAccumulation).toBe(32);
    expect(fit.maxLength).toBe(256); // (256, 3072) f32 = 3 MiB
    expect(largestLayerActivationBytes(baseArchitectureOf(QWEN06), 1, fit.maxLength)).toBeLessThanOrEqual(4 * MiB);
    expect(fit.notes).toHaveLength(2);
  });

  it('the caller’s micro-batch cap applies to presets that leave the split to it; without a base nothing is checked', () => {
    const unknown = { parameters: 0, base: null, maxPositionEmbeddings: null, limits: { maxStorageBufferBindingSize: 1, maxBufferSize: 1 } };
    const split = (p: ShadowPreset, cap: number) => fitPresetBatch(p, unknown, cap);
    expect(split(reasoning, 4)).toEqual({ microBatchSize: 4, gradientAccumulation: 8, maxLength: 512, notes: [] });
    expect(split(shadowPreset('quick-start')!, 8)).toEqual({ microBatchSize: 2, gradientAccumulation: 1, maxLength: 128, notes: [] });
  });
});
