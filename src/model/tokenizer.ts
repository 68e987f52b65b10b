import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { StudioError } from '../engine/errors';
import { ModelErrorCode } from './errors';
import type { ModelSource } from './sources/source';
import { readText } from './sources/source';
import { Fnv1a64 } from '../engine/hash';

export type Tokenizer = PreTrainedTokenizer;

/**
 * The model's own tokenizer and chat template, through transformers.js: tokenizer.json and
 * tokenizer_config.json are read from the same source as the weights (Hub cache, URL or picked
 * folder) and given to the tokenizer class that config names — what AutoTokenizer.from_pretrained
 * does after fetching, without a second download path.
 */
export async function loadTokenizer(source: ModelSource): Promise<Tokenizer> {
  const [jsonText, configText] = await Promise.all([readText(source, 'tokenizer.json'), readText(source, 'tokenizer_config.json')]);
  const json = parseTokenizerFile(source, 'tokenizer.json', jsonText);
  const config = parseTokenizerFile(source, 'tokenizer_config.json', configText);
  if (!json) throw new StudioError(ModelErrorCode.missingWeight, `${source.id}: no tokenizer.json`, 'the model folder must hold tokenizer.json and tokenizer_config.json, as on the Hub');
  const cfg = (config ?? {}) as Record<string, unknown>;
  const transformers = (await import('@huggingface/transformers')) as unknown as Record<string, unknown>;
  const name = typeof cfg.tokenizer_class === 'string' ? cfg.tokenizer_class.replace(/Fast$/, '') : 'PreTrainedTokenizer';
  const Base = transformers.PreTrainedTokenizer as new (json: unknown, config: unknown) => Tokenizer;
  const named = transformers[name];
  // Only a tokenizer class: any other export ('pipeline', 'env') falls back, as AutoTokenizer does for an unknown name.
  const Cls = typeof named === 'function' && (named === Base || named.prototype instanceof Base) ? (named as typeof Base) : Base;
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new StudioError(ModelErrorCode.badConfig, `${source.id}: tokenizer.json is not a JSON object`, 'download the file again; it must be the tokenizer.json the Hub serves');
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Cls(json, cfg);
  } catch (e) {
    throw new StudioError(ModelErrorCode.badConfig, `${source.id}: tokenizer.json could not be read as a ${Cls === Base ? 'PreTrainedTokenizer' : name} tokenizer: ${(e as Error).message}`, 'the file must be a tokenizers-library tokenizer.json (with "model" and "pre_tokenizer"); download it again');
  }
  fingerprints.set(tokenizer, new Fnv1a64().updateString(`${jsonText}\u0000${configText ?? ''}`).hex());
  return tokenizer;
}

/** Per tokenizer, a hash of the two files it was built from (see tokenizerFingerprint). */
const fingerprints = new WeakMap<object, string>();

/**
 * What identifies a tokenizer in dataset fingerprints: a hash of its tokenizer.json and
 * tokenizer_config.json, so the same files give the same fingerprint whether the model came from the
 * Hub, a URL or a picked folder (the CLI and the studio agree), and other files give another.
 */
export function tokenizerFingerprint(tokenizer: object): string {
  const f = fingerprints.get(tokenizer);
  if (!f) throw new StudioError(ModelErrorCode.missingWeight, 'this tokenizer was not made by loadTokenizer, so its files are unknown', 'load it with loadTokenizer(source)');
  return f;
}

function parseTokenizerFile(source: ModelSource, file: string, text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StudioError(ModelErrorCode.badConfig, `${source.id}: ${file} is not JSON: ${(e as Error).message}`, 'download the file again; it must be the JSON file the Hub serves');
  }
}

/** Token ids of plain text (no chat template, no special tokens added). */
export function encodeText(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encode(text, { add_special_tokens: false });
}
