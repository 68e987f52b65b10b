import { describe, expect, it } from 'vitest';
import { fixtureSource, loadGolden } from './testing/fixtures';
import { encodeText, loadTokenizer } from './tokenizer';

describe('loadTokenizer', () => {
  it.each(['qwen3-tiny', 'llama-tiny'])('%s: transformers.js tokenizer from the model source encodes like the Python copy', async (name) => {
    const tok = await loadTokenizer(fixtureSource(name));
    const check = loadGolden(name).json.tokenizer_check as { text: string; ids: number[] };
    expect(encodeText(tok, check.text)).toEqual(check.ids);
    expect(tok.decode(check.ids)).toBe(check.text);
  });

  it('a folder without tokenizer.json gives a coded error', async () => {
    const source = { ...fixtureSource('qwen3-tiny'), readBytes: async () => null };
    await expect(loadTokenizer(source)).rejects.toThrow(/E120 .*no tokenizer\.json/);
  });
});
