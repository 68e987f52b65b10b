import { StudioError } from '../engine/errors';
import type { ShadowConfig } from './config';
import { DEFAULT_SHADOW_CONFIG, SHADOW_FLOAT_FIELDS, SHADOW_INT_FIELDS, SHADOW_NULLABLE_INT_FIELDS, show, validateShadowConfig } from './config';
import { ShadowErrorCode } from './errors';
import type { PyJson } from './pythonJson';
import { pyFloat, pythonJsonDumps } from './pythonJson';

/**
 * shadow_config.json exactly as the reference package writes it:
 * `json.dumps(asdict(cfg), indent=2, sort_keys=True) + "\n"`. alpha and dropout are written as Python
 * floats (0.1, 1.0, 0.0) — what Python writes whenever they hold floats, as its defaults and CLI do.
 */
export function shadowConfigJson(config: ShadowConfig): string {
  validateShadowConfig(config);
  const obj: { [key: string]: PyJson } = {
    alpha: pyFloat(config.alpha),
    dropout: pyFloat(config.dropout),
    gate_hidden_size: config.gate_hidden_size,
    injection_hidden_size: config.injection_hidden_size,
    modules_to_save: [...config.modules_to_save],
    num_shadow_layers: config.num_shadow_layers,
    shadow_head_dim: config.shadow_head_dim,
    shadow_intermediate_size: config.shadow_intermediate_size,
    shadow_num_attention_heads: config.shadow_num_attention_heads,
    shadow_num_key_value_heads: config.shadow_num_key_value_heads,
  };
  return pythonJsonDumps(obj, 2) + '\n';
}

/**
 * Reads shadow_config.json like `ShadowConfig.from_dict`: unknown keys are ignored, missing keys take
 * the package defaults; then every value is checked (coded errors naming the field and value).
 * JSON cannot tell 1 from 1.0 here, so an integer field written as 1.0 is accepted as 1.
 */
export function parseShadowConfigJson(text: string): ShadowConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new StudioError(ShadowErrorCode.badConfigJson, `shadow_config.json is not valid JSON: ${(e as Error).message}`, 'the file is damaged; save the adapter again');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new StudioError(ShadowErrorCode.badConfigJson, `shadow_config.json must hold a JSON object, found ${Array.isArray(data) ? 'an array' : show(data)}`, 'the file is damaged; save the adapter again');
  }
  const src = data as Record<string, unknown>;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(src, k);
  const config: ShadowConfig = { ...DEFAULT_SHADOW_CONFIG, modules_to_save: [] };
  for (const f of [...SHADOW_FLOAT_FIELDS, ...SHADOW_INT_FIELDS]) {
    if (!has(f)) continue;
    const v = src[f];
    if (typeof v !== 'number') throw typeError(f, v, 'a number');
    config[f] = v;
  }
  for (const f of SHADOW_NULLABLE_INT_FIELDS) {
    if (!has(f)) continue;
    const v = src[f];
    if (v !== null && typeof v !== 'number') throw typeError(f, v, 'null or a number');
    config[f] = v;
  }
  // Its element types are checked by validateShadowConfig (E212).
  if (has('modules_to_save')) config.modules_to_save = src.modules_to_save as string[];
  validateShadowConfig(config);
  return config;
}

function typeError(field: string, v: unknown, want: string): StudioError {
  return new StudioError(ShadowErrorCode.fieldType, `shadow_config.json: ${field} is ${show(v)}; it must be ${want}`, 'fix the value or delete the key to use the default');
}
