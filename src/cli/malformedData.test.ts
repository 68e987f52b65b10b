/**
 * Malformed datasets (issue 12): each of these files, with its bad record among good ones, fails at that
 * record's line with a coded error when malformed records stop the pipeline; and as a whole file of
 * bad records, `cli train` fails with a coded error before it writes anything.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../engine/errors';
import { FIXTURES_DIR } from '../model/testing/fixtures';
import { loadTokenizer, tokenizerFingerprint } from '../model/tokenizer';
import { fixtureSource } from '../model/testing/fixtures';
import type { DataTokenizer } from '../train/data/tokenize';
import { prepareDataset } from '../train/runSetup';
import { runTrain } from './train';

const pc = (i: number) => JSON.stringify({ prompt: `Q${i}?`, completion: ` A${i}.` });
const chat = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: `Q${i}?` }, { role: 'assistant', content: `A${i}.` }] });

/** JSONL records that are each wrong in their own way (the file's other lines are good prompt/completion or chat records). */
const BAD_JSONL: [string, string, 'pc' | 'chat'][] = [
  ['invalid JSON', '{"prompt": "Q", "completion": ', 'pc'],
  ['a trailing comma', '{"prompt": "Q", "completion": "A",}', 'pc'],
  ['single quotes', "{'prompt': 'Q', 'completion': 'A'}", 'pc'],
  ['an array', '["Q", "A"]', 'pc'],
  ['a number', '42', 'pc'],
  ['a string', '"just text"', 'pc'],
  ['null', 'null', 'pc'],
  ['true', 'true', 'pc'],
  ['no known field', '{"question": "Q", "answer": "A"}', 'pc'],
  ['completion missing', '{"prompt": "Q"}', 'pc'],
  ['prompt a number', '{"prompt": 3, "completion": "A"}', 'pc'],
  ['completion an object', '{"prompt": "Q", "completion": {"text": "A"}}', 'pc'],
  ['completion null', '{"prompt": "Q", "completion": null}', 'pc'],
  ['a chat record among prompt/completion', chat(9), 'pc'],
  ['unterminated string', '{"prompt": "Q, "completion": "A"}', 'pc'],
  ['two records on one line', `${pc(1)}${pc(2)}`, 'pc'],
  ['a control character in a string', '{"prompt": "Q\u0001\n", "completion": "A"}', 'pc'],
  ['prompt an array', '{"prompt": ["Q"], "completion": "A"}', 'pc'],
  ['messages not an array', '{"messages": "hi"}', 'chat'],
  ['messages empty', '{"messages": []}', 'chat'],
  ['a message not an object', '{"messages": ["hi", {"role": "assistant", "content": "A"}]}', 'chat'],
  ['an unknown role', '{"messages": [{"role": "bot", "content": "Q"}, {"role": "assistant", "content": "A"}]}', 'chat'],
  ['content a number', '{"messages": [{"role": "user", "content": 1}, {"role": "assistant", "content": "A"}]}', 'chat'],
  ['content missing', '{"messages": [{"role": "user"}, {"role": "assistant", "content": "A"}]}', 'chat'],
  ['no assistant message', '{"messages": [{"role": "user", "content": "Q"}]}', 'chat'],
  ['ends with the user', '{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}, {"role": "user", "content": "Q2"}]}', 'chat'],
  ['no user message', '{"messages": [{"role": "system", "content": "S"}, {"role": "assistant", "content": "A"}]}', 'chat'],
  ['role missing', '{"messages": [{"content": "Q"}, {"role": "assistant", "content": "A"}]}', 'chat'],
  ['a prompt/completion record among chat', pc(9), 'chat'],
  ['ShareGPT conversations', '{"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}', 'chat'],
];

/** CSV/TSV files with a bad row at `line` (1-based, the header is line 1). */
const BAD_DELIMITED: [string, string, string, number][] = [
  ['an unclosed quote', 'd.csv', 'prompt,completion\nQ1,A1\n"Q2,A2\nQ3,A3\n', 3],
  ['a row with too many fields', 'd.csv', 'prompt,completion\nQ1,A1\nQ2,A2,extra\nQ3,A3\n', 3],
  ['a row with too few fields', 'd.csv', 'prompt,completion\nQ1,A1\nQ2\nQ3,A3\n', 3],
  ['a text/label row without its label', 'd.csv', 'text,label\nT1,L1\nT2\nT3,L3\n', 3],
  ['a TSV row with too few fields', 'd.tsv', 'prompt\tcompletion\nQ1\tA1\nQ2\nQ3\tA3\n', 3],
  ['a TSV row with too many fields', 'd.tsv', 'prompt\tcompletion\nQ1\tA1\nQ2\tA2\tx\nQ3\tA3\n', 3],
];

/** Whole files that yield nothing at all. */
const UNUSABLE: [string, string, string][] = [
  ['an empty file', 'd.jsonl', ''],
  ['only whitespace', 'd.jsonl', '  \n\n\t\n'],
  ['only a byte-order mark', 'd.jsonl', '\uFEFF'],
  ['a JSON array file', 'd.jsonl', `[${pc(1)}, ${pc(2)}]`],
  ['a CSV header without known columns', 'd.csv', 'question,answer\nQ,A\n'],
  ['a CSV header only', 'd.csv', 'prompt,completion\n'],
  ['a CSV with one column', 'd.csv', 'prompt\nQ1\nQ2\n'],
  ['NUL bytes', 'd.jsonl', '\u0000\u0000\u0000\n\u0000'],
];

let tokenizer: DataTokenizer;
const prepare = (text: string, fileName: string, onError: 'skip' | 'stop') => prepareDataset(text, { fileName, onError, maxLength: 64, validationFraction: 0, seed: 1, tokenizerFingerprint: tokenizerFingerprint(tokenizer) }, tokenizer);

function codedError(fn: () => unknown, what: string): StudioError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StudioError) return e;
    throw new Error(`${what}: not a coded error: ${String(e)}`);
  }
  throw new Error(`${what}: accepted`);
}

/** `cli train` on a whole file of bad records: a coded error, and nothing written. */
async function cliRefuses(text: string, fileName: string, flags: Record<string, string> = {}): Promise<StudioError> {
  const dir = mkdtempSync(join(tmpdir(), 'malformed-'));
  const data = join(dir, fileName);
  writeFileSync(data, text);
  const out = join(dir, 'out');
  const e = await runTrain({ model: join(FIXTURES_DIR, 'qwen3-tiny'), data, out, 'max-steps': '1', ...flags }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(existsSync(out), `${fileName}: nothing is written`).toBe(false);
  if (!(e instanceof StudioError)) throw new Error(`expected a coded error, got ${String(e)}`);
  return e;
}

describe('no training example left', () => {
  it('E302 names why the records went (grouped) and what to change, before any weight is read', async () => {
    tokenizer ??= (await loadTokenizer(fixtureSource('qwen3-tiny'))) as unknown as DataTokenizer;
    const long = Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `${'a very long question '.repeat(20)}${i}`, completion: ' yes' }));
    const e = await cliRefuses([...long, '{broken', '{broken'].join('\n'), 'd.jsonl', { 'max-length': '64' });
    expect(e.code).toBe('E302');
    expect(e.message).toMatch(/8 records skipped/);
    expect(e.message).toMatch(/lines 7–8|lines 7-8/);
    expect(e.hint).toMatch(/max length/);
  });
});

describe(`${BAD_JSONL.length + BAD_DELIMITED.length + UNUSABLE.length} malformed datasets`, () => {
  it('a bad JSONL record stops at its line, is skipped with its line, and a file of them makes cli train refuse', async () => {
    tokenizer = (await loadTokenizer(fixtureSource('qwen3-tiny'))) as unknown as DataTokenizer;
    for (const [what, bad, kind] of BAD_JSONL) {
      const good = kind === 'pc' ? pc : chat;
      const text = [good(1), good(2), bad, good(3)].join('\n');
      const stop = codedError(() => prepare(text, 'd.jsonl', 'stop'), what);
      expect(stop.code, what).toBe('E401');
      expect(stop.message, what).toMatch(/line 3\b/);
      const skipped = prepare(text, 'd.jsonl', 'skip');
      expect(skipped.issues.map((i) => i.line), what).toContain(3);
      expect(skipped.train.length, what).toBe(3);
    }
    for (const [what, bad] of BAD_JSONL.slice(0, 10)) {
      const e = await cliRefuses([bad, bad, bad].join('\n'), 'd.jsonl');
      expect(e.code, what).toMatch(/^E\d{3}$/);
    }
  }, 300_000);

  it('a bad CSV or TSV row stops at its line and is skipped with its line', async () => {
    tokenizer ??= (await loadTokenizer(fixtureSource('qwen3-tiny'))) as unknown as DataTokenizer;
    for (const [what, fileName, text, line] of BAD_DELIMITED) {
      const stop = codedError(() => prepare(text, fileName, 'stop'), what);
      expect(stop.code, what).toBe('E401');
      expect(stop.message, what).toMatch(new RegExp(`line ${line}\\b`));
      expect(prepare(text, fileName, 'skip').issues.map((i) => i.line), what).toContain(line);
    }
  });

  it('a file that yields nothing is a coded error in both modes, and cli train writes nothing', async () => {
    tokenizer ??= (await loadTokenizer(fixtureSource('qwen3-tiny'))) as unknown as DataTokenizer;
    for (const [what, fileName, text] of UNUSABLE) {
      for (const mode of ['stop', 'skip'] as const) expect(codedError(() => prepare(text, fileName, mode), what).code, `${what} (${mode})`).toBe('E401');
      await cliRefuses(text, fileName);
    }
  }, 300_000);
});
