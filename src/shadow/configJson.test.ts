import { describe, expect, it } from 'vitest';
import { shadowConfig } from './config';
import { parseShadowConfigJson, shadowConfigJson } from './configJson';
import { ShadowErrorCode } from './errors';
import { pyFloat, pyFloatRepr, pyString, pythonJsonDumps } from './pythonJson';
import { errorOf } from './testing/errorOf';

// Expected strings are written by hand after CPython's rules: indent 2, separators (',', ': '),
// sorted keys, "[]" for an empty list, floats via repr(), ensure_ascii escapes, and the trailing
// newline the package adds.
const DEFAULT_JSON = `{
  "alpha": 0.1,
  "dropout": 0.1,
  "gate_hidden_size": 10,
  "injection_hidden_size": 16,
  "modules_to_save": [],
  "num_shadow_layers": 1,
  "shadow_head_dim": null,
  "shadow_intermediate_size": null,
  "shadow_num_attention_heads": null,
  "shadow_num_key_value_heads": null
}
`;

const CUSTOM_JSON = `{
  "alpha": 1.0,
  "dropout": 0.0,
  "gate_hidden_size": 8,
  "injection_hidden_size": 32,
  "modules_to_save": [
    "lm_head",
    "shadow_lm_head"
  ],
  "num_shadow_layers": 2,
  "shadow_head_dim": 64,
  "shadow_intermediate_size": 256,
  "shadow_num_attention_heads": 8,
  "shadow_num_key_value_heads": 4
}
`;

const custom = shadowConfig({
  alpha: 1,
  dropout: 0,
  gate_hidden_size: 8,
  injection_hidden_size: 32,
  modules_to_save: ['lm_head', 'shadow_lm_head'],
  num_shadow_layers: 2,
  shadow_head_dim: 64,
  shadow_intermediate_size: 256,
  shadow_num_attention_heads: 8,
  shadow_num_key_value_heads: 4,
});

describe('shadowConfigJson: byte-exact Python json.dumps(indent=2, sort_keys=True) + "\\n"', () => {
  it('package defaults', () => {
    expect(shadowConfigJson(shadowConfig())).toBe(DEFAULT_JSON);
  });

  it('whole-number floats keep ".0", ints stay ints, lists break over lines', () => {
    expect(shadowConfigJson(custom)).toBe(CUSTOM_JSON);
  });

  it('the recipe values print as Python prints them', () => {
    const text = shadowConfigJson(shadowConfig({ alpha: 0.5, dropout: 0.2 }));
    expect(text).toContain('  "alpha": 0.5,\n  "dropout": 0.2,\n');
  });

  it('refuses to write an invalid config', () => {
    errorOf(() => shadowConfigJson({ ...shadowConfig(), gate_hidden_size: 1 }), ShadowErrorCode.gateTooSmall);
  });
});

describe('Python float repr and string escapes', () => {
  it('repr(float) for the cases where JS and Python differ', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'],
      [1, '1.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [-2.5, '-2.5'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [0.00012345, '0.00012345'],
      [1.5e-7, '1.5e-07'],
      [2e-4, '0.0002'],
      [3e-3, '0.003'],
      [0.1 + 0.2, '0.30000000000000004'],
      [123456789.125, '123456789.125'],
      [1e15, '1000000000000000.0'],
      [9999999999999998, '9999999999999998.0'],
      [1e16, '1e+16'],
      [1e22, '1e+22'],
      [1.2345678901234567e19, '1.2345678901234567e+19'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [5e-324, '5e-324'],
      [NaN, 'NaN'],
      [-Infinity, '-Infinity'],
    ];
    for (const [x, want] of cases) expect(pyFloatRepr(x), String(x)).toBe(want);
  });

  it('ensure_ascii escapes (lowercase hex, DEL escaped, astral as surrogate pairs)', () => {
    expect(pyString('tête\u007f"x\\/\n\t\r\b\f\u0001😀')).toBe('"t\\u00eate\\u007f\\"x\\\\/\\n\\t\\r\\b\\f\\u0001\\ud83d\\ude00"');
  });

  it('keys sort by code point (U+FFFF before U+1F600, unlike UTF-16 order), nesting indents', () => {
    const text = pythonJsonDumps({ '\uffff': 1, '😀': 2, b: [pyFloat(3), { z: {}, a: [] }], B: true });
    expect(text).toBe(`{
  "B": true,
  "b": [
    3.0,
    {
      "a": [],
      "z": {}
    }
  ],
  "\\uffff": 1,
  "\\ud83d\\ude00": 2
}`);
  });

  it('a non-whole number cannot pass as a Python int', () => {
    errorOf(() => pythonJsonDumps({ a: 0.5 }), ShadowErrorCode.fieldType);
  });
});

describe('parseShadowConfigJson', () => {
  it('round-trips what shadowConfigJson writes', () => {
    expect(parseShadowConfigJson(CUSTOM_JSON)).toEqual(custom);
    expect(parseShadowConfigJson(DEFAULT_JSON)).toEqual(shadowConfig());
  });

  it('ignores unknown keys and fills missing ones with the package defaults', () => {
    const c = parseShadowConfigJson('{"alpha": 0.5, "shadow_lr_multiplier": 0.05, "base_model": "Qwen/Qwen3-0.6B", "injection_hidden_size": 8}');
    expect(c).toEqual(shadowConfig({ alpha: 0.5, injection_hidden_size: 8 }));
    expect(Object.keys(c)).not.toContain('shadow_lr_multiplier');
  });

  it('accepts a whole number written as 1.0 for an int field (JSON cannot tell them apart)', () => {
    expect(parseShadowConfigJson('{"num_shadow_layers": 2.0}').num_shadow_layers).toBe(2);
  });

  it('refuses non-JSON, non-objects, wrong types, and invalid values, naming the field', () => {
    errorOf(() => parseShadowConfigJson('{"alpha": 0.1,'), ShadowErrorCode.badConfigJson);
    errorOf(() => parseShadowConfigJson('[1, 2]'), ShadowErrorCode.badConfigJson);
    errorOf(() => parseShadowConfigJson('null'), ShadowErrorCode.badConfigJson);
    expect(errorOf(() => parseShadowConfigJson('{"alpha": "0.1"}'), ShadowErrorCode.fieldType)).toContain('alpha is "0.1"');
    expect(errorOf(() => parseShadowConfigJson('{"gate_hidden_size": null}'), ShadowErrorCode.fieldType)).toContain('gate_hidden_size is null');
    expect(errorOf(() => parseShadowConfigJson('{"shadow_head_dim": "64"}'), ShadowErrorCode.fieldType)).toContain('shadow_head_dim');
    expect(errorOf(() => parseShadowConfigJson('{"gate_hidden_size": 1}'), ShadowErrorCode.gateTooSmall)).toContain('gate_hidden_size is 1');
    errorOf(() => parseShadowConfigJson('{"modules_to_save": "lm_head"}'), ShadowErrorCode.badModulesToSave);
  });
});
