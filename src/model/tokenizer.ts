import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { StudioError } from '../engine/errors';
import { ModelErrorCode } from './errors';
import type { ModelSource } from './sources/source';
import { readJson } from './sources/source';

export type Tokenizer = PreTrainedTokenizer;

/**
 * The model's own tokenizer and chat template, through transformers.js: tokenizer.json and
 * tokenizer_config.json are read from the same source as the weights (Hub cache, URL or picked
 * folder) and given to the tokenizer class that config names — what AutoTokenizer.from_pretrained
 * does after fetching, without a second download path.
 */
export async function loadTokenizer(source: ModelSource): Promise<Tokenizer> {
  const [json, config] = await Promise.all([readJson(source, 'tokenizer.json'), readJson(source, 'tokenizer_config.json')]);
  if (!json) throw new StudioError(ModelErrorCode.missingWeight, `${source.id}: no tokenizer.json`, 'the model folder must hold tokenizer.json and tokenizer_config.json, as on the Hub');
  const cfg = (config ?? {}) as Record<string, unknown>;
  const transformers = (await import('@huggingface/transformers')) as unknown as Record<string, unknown>;
  const name = typeof cfg.tokenizer_class === 'string' ? cfg.tokenizer_class.replace(/Fast$/, '') : 'PreTrainedTokenizer';
  const Cls = (transformers[name] ?? transformers.PreTrainedTokenizer) as new (json: unknown, config: unknown) => Tokenizer;
  return new Cls(json, cfg);
}

/** Token ids of plain text (no chat template, no special tokens added). */
export function encodeText(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encode(text, { add_special_tokens: false });
}
