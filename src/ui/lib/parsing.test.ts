import { describe, expect, it } from 'vitest';
import { baseArchitectureOf } from './baseArchitecture';
import { formatBytes, formatCount, formatDuration, formatEpoch, formatMetric } from './format';
import { allFinite, finiteRange, layerStatesCsv, rampColor, slotExplanation, slotLabel, tokenLabel } from './layerStats';
import { filesFromDirectoryInput } from './localFolder';
import { parseDatasetIndex, parseModelIndex } from './manifests';
import { parseModelInput } from './modelSource';
import { countShadowParams, loraEquivalentRank } from '../../shadow/paramCount';
import { shadowPreset } from '../../shadow/presets';
import type { ModelInfo } from '../../../workers/api';

const ORIGIN = 'http://127.0.0.1:4179';

describe('manifests', () => {
  it('reads model indexes of several shapes and picks a default', () => {
    expect(parseModelIndex(['tiny'], ORIGIN)).toEqual([{ name: 'tiny', title: 'tiny', description: '', url: `${ORIGIN}/models/tiny/`, isDefault: true }]);
    const m = parseModelIndex({ default: 'b', models: [{ name: 'a', title: 'A' }, { id: 'b', description: 'bee' }] }, ORIGIN);
    expect(m.map((x) => [x.name, x.isDefault])).toEqual([['a', false], ['b', true]]);
    expect(parseModelIndex([{ path: '/models/c/', default: true }], ORIGIN)[0]!.url).toBe(`${ORIGIN}/models/c/`);
    expect(parseModelIndex({ nothing: 1 }, ORIGIN)).toEqual([]);
  });
  it('reads the dataset index', () => {
    const d = parseDatasetIndex([{ file: 'chat.jsonl', title: 'Chat', description: 'd', format: 'chat' }, { title: 'no file' }], ORIGIN);
    expect(d).toEqual([{ file: 'chat.jsonl', title: 'Chat', description: 'd', format: 'chat', url: `${ORIGIN}/datasets/chat.jsonl` }]);
  });
});

describe('parseModelInput', () => {
  it('accepts repo ids, revisions, Hub URLs, URLs and site paths', () => {
    expect(parseModelInput('Qwen/Qwen3-0.6B', ORIGIN)).toMatchObject({ source: { kind: 'hub', repo: 'Qwen/Qwen3-0.6B' } });
    expect(parseModelInput(' a/b@main ', ORIGIN)).toMatchObject({ source: { kind: 'hub', repo: 'a/b', revision: 'main' } });
    expect(parseModelInput('https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct', ORIGIN)).toMatchObject({ source: { kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M-Instruct' } });
    expect(parseModelInput('https://example.org/m', ORIGIN)).toMatchObject({ source: { kind: 'url', url: 'https://example.org/m/' } });
    expect(parseModelInput('/models/tiny', ORIGIN)).toMatchObject({ source: { kind: 'url', url: `${ORIGIN}/models/tiny/` } });
  });
  it('explains what it expects otherwise', () => {
    expect(parseModelInput('', ORIGIN)).toHaveProperty('error');
    expect((parseModelInput('not a model', ORIGIN) as { error: string }).error).toMatch(/owner\/name/);
  });
});

describe('local folder', () => {
  it('makes paths relative to the picked folder and names the model after it', () => {
    const f = (p: string) => ({ name: p.split('/').pop()!, webkitRelativePath: p }) as File;
    const src = filesFromDirectoryInput([f('tiny/config.json'), f('tiny/onnx/model.onnx')]);
    expect(src.name).toBe('tiny');
    expect(src.files.map((x) => x.path)).toEqual(['config.json', 'onnx/model.onnx']);
  });
});

describe('baseArchitectureOf', () => {
  it('gives the parameter count of docs/shadowpeft.md §9 for Qwen3-0.6B with the reasoning preset', () => {
    const info: ModelInfo = {
      id: 'Qwen/Qwen3-0.6B', revision: null, modelType: 'qwen3', layers: 28, hidden: 1024, heads: 16, kvHeads: 8, headDim: 128, intermediate: 3072, vocab: 151936,
      tiedEmbeddings: true, maxPositionEmbeddings: 40960, parameters: 596_049_920, torchDtype: 'bfloat16', downloadBytes: null, memory: { weights: 0, inference: 0, training: 0, fits: true, message: null },
    };
    const base = baseArchitectureOf(info)!;
    const n = countShadowParams(shadowPreset('reasoning')!.shadow, base).total;
    expect(n).toBe(9_073_920);
    expect(loraEquivalentRank(base, n)).toBeCloseTo(31.6, 1);
    expect(baseArchitectureOf({ ...info, modelType: 'gpt2' })).toBeNull();
  });
});

describe('layer statistics', () => {
  it('writes one CSV row per layer and token with every statistic', () => {
    const v = (x: number) => [x, x + 1, x + 2, x + 3];
    const csv = layerStatesCsv({ tokens: ['a', 'b,c'], layers: 2, stats: { hNorm: v(0), sNorm: v(10), cosHS: v(20), injection: v(30), gateMean: v(40), updateSize: v(50) } });
    const rows = csv.trimEnd().split('\n');
    expect(rows[0]).toBe('layer,token_index,token,hNorm,sNorm,cosHS,injection,gateMean,updateSize');
    expect(rows[2]).toBe('0,1,"b,c",1,11,21,31,41,51');
    expect(rows[3]).toBe('1,0,a,2,12,22,32,42,52');
    expect(rows).toHaveLength(5);
  });
  it('ranges and finiteness ignore nothing silently', () => {
    expect(finiteRange([3, Number.NaN, -1, Infinity])).toEqual([-1, 3]);
    expect(finiteRange([Number.NaN])).toEqual([0, 1]);
    expect(allFinite([1, 2])).toBe(true);
    expect(allFinite([1, Number.NaN])).toBe(false);
    expect(rampColor(0)).toBe('rgb(68 1 84)');
    expect(rampColor(1)).toBe('rgb(253 231 37)');
    expect(rampColor(0.5, true)).toBe('rgb(247 247 247)');
    expect(tokenLabel(' the\n')).toBe('·the⏎');
  });
});

describe('format', () => {
  it('formats sizes, counts, durations and metrics', () => {
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.00 GiB');
    expect(formatBytes(null)).toBe('—');
    expect(formatCount(9_073_920)).toBe('9.07M');
    expect(formatCount(134_515_008)).toBe('135M');
    expect(formatCount(912)).toBe('912');
    expect(formatDuration(65_000)).toBe('1 min 5 s');
    expect(formatDuration(3_725_000)).toBe('1 h 2 min');
    expect(formatDuration(800)).toBe('0.8 s');
    expect(formatMetric(2.345678)).toBe('2.346');
    expect(formatMetric(0.00012)).toBe('1.200e-4');
    expect(formatMetric(Number.NaN)).toBe('NaN');
  });
});

describe('adapter slots on the Inspect screen', () => {
  it('says why a 4-layer model has 3 rows, and where each slot sits', () => {
    expect(slotExplanation(3)).toBe('3 rows for 4 layers: the adapter acts before base layers 1–3 (layer 0 gets no injection), one row per adapter slot; slot k sits before layer k+1.');
    expect(slotExplanation(1)).toMatch(/^1 row for 2 layers: the adapter acts before base layer 1 /);
    expect(slotLabel(0)).toBe('slot 0 (before layer 1)');
  });
});

describe('formatEpoch', () => {
  it('is the one epoch format of the Train screen and the checkpoint table', () => {
    expect(formatEpoch(0.0234)).toBe('0.02');
    expect(formatEpoch(2)).toBe('2.00');
    expect(formatEpoch(null)).toBe('—');
  });
});
