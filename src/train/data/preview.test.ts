import { beforeAll, describe, expect, it } from 'vitest';
import { previewExamples } from './preview';
import { loadQwen3Tokenizer } from './testing/qwen3Tokenizer';
import { tokenizeExamples } from './tokenize';
import type { DataTokenizer } from './tokenize';
import type { TokenizedExample } from './types';

let tok: DataTokenizer;
beforeAll(async () => {
  tok = await loadQwen3Tokenizer();
});
const M = -100;
const enc = (s: string) => tok.encode(s, { add_special_tokens: false });

describe('label-mask preview', () => {
  it('a chat example shows the masked prompt and the supervised answer', () => {
    const { examples } = tokenizeExamples(
      [
        { kind: 'chat', line: 2, messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello there!' }] },
        { kind: 'text', line: 3, text: 'All of it' },
      ],
      tok,
      { maxLength: 64 },
    );
    const [chat, text] = previewExamples(examples, tok, 5);
    expect(chat).toEqual({
      line: 2,
      tokenCount: 18,
      supervisedCount: 5,
      segments: [
        { text: '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n', supervised: false, tokenCount: 13 },
        { text: 'Hello there!<|im_end|>\n', supervised: true, tokenCount: 5 },
      ],
    });
    expect(text!.segments).toEqual([{ text: 'All of it<|im_end|>', supervised: true, tokenCount: enc('All of it').length + 1 }]);
  });

  it('keeps only the first k, and alternating runs', () => {
    const ids = enc('one two three four');
    expect(ids).toHaveLength(4);
    const x: TokenizedExample = { inputIds: ids, labels: [M, ids[1]!, M, ids[3]!], line: 1, block: 2 };
    const previews = previewExamples([x, x, x], tok, 2);
    expect(previews).toHaveLength(2);
    expect(previews[0]).toEqual({
      line: 1,
      block: 2,
      tokenCount: 4,
      supervisedCount: 2,
      segments: [
        { text: 'one', supervised: false, tokenCount: 1 },
        { text: ' two', supervised: true, tokenCount: 1 },
        { text: ' three', supervised: false, tokenCount: 1 },
        { text: ' four', supervised: true, tokenCount: 1 },
      ],
    });
    expect(previewExamples([x], tok, 0)).toEqual([]);
  });

  it('a character split across a mask boundary is shown whole where it completes', () => {
    // Precondition: the flamingo emoji is two byte-level tokens, and the pieces tokenize apart.
    const ids = enc('a🦩b');
    expect(enc('🦩')).toHaveLength(2);
    expect(ids).toEqual([...enc('a'), ...enc('🦩'), ...enc('b')]);
    // mask "a" and the first byte-token of the emoji
    const x: TokenizedExample = { inputIds: ids, labels: [M, M, ids[2]!, ids[3]!], line: 1 };
    expect(previewExamples([x], tok)[0]!.segments).toEqual([
      { text: 'a', supervised: false, tokenCount: 2 },
      { text: '🦩b', supervised: true, tokenCount: 2 },
    ]);
  });
});
