import { describe, expect, it } from 'vitest';
import { detectFileType } from './detect';
import { DataParseError, formatIssue, MAX_KEPT_ISSUES } from './issues';
import { parseDataset } from './parse';
import type { ParseOptions } from './parse';

const jsonl = (...records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
const skip: ParseOptions = { onError: 'skip', fileName: 'data.jsonl' };
const stop: ParseOptions = { onError: 'stop', fileName: 'data.jsonl' };

/** The DataParseError thrown by fn (fails the test when nothing is thrown). */
function thrown(fn: () => unknown): DataParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataParseError);
    return e as DataParseError;
  }
  throw new Error('expected a DataParseError');
}

describe('JSONL formats', () => {
  it('chat messages', () => {
    const d = parseDataset(jsonl({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }] }), skip);
    expect(d.format).toBe('chat');
    expect(d.examples).toEqual([{ kind: 'chat', line: 1, messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }] }]);
    expect(d.issueCount).toBe(0);
  });

  it('prompt/completion, ignoring extra keys', () => {
    const d = parseDataset(jsonl({ prompt: 'P1', completion: 'C1', id: 7 }, { prompt: '', completion: 'C2' }), skip);
    expect(d.format).toBe('prompt_completion');
    expect(d.examples).toEqual([
      { kind: 'prompt_completion', line: 1, prompt: 'P1', completion: 'C1' },
      { kind: 'prompt_completion', line: 2, prompt: '', completion: 'C2' },
    ]);
  });

  it('Alpaca with input present, empty, null and absent', () => {
    const d = parseDataset(
      jsonl(
        { instruction: 'I1', input: 'x', output: 'O1' },
        { instruction: 'I2', input: '', output: 'O2' },
        { instruction: 'I3', input: null, output: 'O3' },
        { instruction: 'I4', output: 'O4' },
      ),
      skip,
    );
    expect(d.format).toBe('alpaca');
    expect(d.examples.map((e) => (e.kind === 'alpaca' ? [e.line, e.instruction, e.input, e.output] : null))).toEqual([
      [1, 'I1', 'x', 'O1'],
      [2, 'I2', '', 'O2'],
      [3, 'I3', '', 'O3'],
      [4, 'I4', '', 'O4'],
    ]);
  });

  it('text', () => {
    const d = parseDataset(jsonl({ text: 'one' }, { text: 'two' }), skip);
    expect(d.format).toBe('text');
    expect(d.examples).toEqual([
      { kind: 'text', line: 1, text: 'one' },
      { kind: 'text', line: 2, text: 'two' },
    ]);
    expect(d.labels).toBeUndefined();
  });

  it('classification keeps string and integer labels and the sorted label set', () => {
    const d = parseDataset(jsonl({ text: 'a', label: 'pos' }, { text: 'b', label: 2 }, { text: 'c', label: 'neg' }, { text: 'd', label: 0 }, { text: 'e', label: 'pos' }), skip);
    expect(d.format).toBe('classification');
    expect(d.examples.map((e) => (e.kind === 'classification' ? e.label : null))).toEqual(['pos', 2, 'neg', 0, 'pos']);
    expect(d.labels).toEqual([0, 2, 'neg', 'pos']);
  });

  it('a forced format checks every record against it', () => {
    const e = thrown(() => parseDataset(jsonl({ text: 'a' }), { ...stop, format: 'prompt_completion' }));
    expect(e.issues).toEqual([{ line: 1, reason: 'mixed formats: expected prompt/completion (the chosen format), found text' }]);
  });
});

describe('JSONL malformed input', () => {
  const file = jsonl(
    { prompt: 'p1', completion: 'c1' }, // 1 ok
    '{"prompt": "p2", "completion": }', // 2 invalid JSON
    { messages: [] }, // 3 mixed
    { prompt: 'p4' }, // 4 missing completion
    '[1, 2]', // 5 not an object
    { prompt: 'p6', completion: 6 }, // 6 wrong type
    '', // 7 blank: ignored
    { prompt: 'p8', completion: 'c8' }, // 8 ok
    { foo: 1 }, // 9 none of the keys: checked against the format
  );

  it("skip: keeps the good records and reports each bad line with its reason", () => {
    const d = parseDataset(file, skip);
    expect(d.examples.map((e) => e.line)).toEqual([1, 8]);
    expect(d.issueCount).toBe(6);
    expect(d.issues.map((i) => i.line)).toEqual([2, 3, 4, 5, 6, 9]);
    const text = d.issues.map(formatIssue);
    expect(text[0]).toMatch(/^line 2: invalid JSON: .+/);
    expect(text.slice(1)).toEqual([
      'line 3: mixed formats: expected prompt/completion like line 1, found chat messages',
      "line 4: missing 'completion'",
      'line 5: expected a JSON object, found an array',
      "line 6: 'completion' must be a string (got 6)",
      "line 9: missing 'prompt'",
    ]);
  });

  it('stop: throws a coded error at the first bad line', () => {
    const e = thrown(() => parseDataset(file, stop));
    expect(e.code).toBe('E401');
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.line).toBe(2);
    expect(e.message).toMatch(/^E401 line 2: invalid JSON: /);
  });

  it('chat structure errors name the message', () => {
    const d = parseDataset(
      jsonl(
        { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }, // 1 ok
        { messages: 'hello' }, // 2
        { messages: [{ role: 'user', content: 'q' }, 'x'] }, // 3
        { messages: [{ role: 'bot', content: 'q' }] }, // 4
        { messages: [{ role: 'user', content: 5 }] }, // 5
        { messages: [{ role: 'user', content: 'q' }] }, // 6
        { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'q2' }] }, // 7
        { messages: [{ role: 'system', content: 's' }, { role: 'assistant', content: 'a' }] }, // 8
        { messages: [] }, // 9
      ),
      skip,
    );
    expect(d.examples.map((e) => e.line)).toEqual([1]);
    expect(d.issues.map(formatIssue)).toEqual([
      "line 2: 'messages' must be an array (got 'hello')",
      "line 3: messages[1] must be an object with 'role' and 'content' (got 'x')",
      "line 4: messages[0].role must be one of system, user, assistant, tool (got 'bot')",
      'line 5: messages[0].content must be a string (got 5)',
      'line 6: no assistant message to learn from',
      "line 7: the conversation must end with an assistant message (last role is 'user')",
      'line 8: no user message before the final assistant message',
      "line 9: 'messages' is empty",
    ]);
  });

  it('classification: missing and invalid labels, empty text', () => {
    const d = parseDataset(jsonl({ text: 'a', label: 1 }, { text: 'b' }, { text: 'c', label: 1.5 }, { text: 'd', label: true }, { text: ' ', label: 1 }), skip);
    expect(d.issues.map(formatIssue)).toEqual([
      "line 2: missing 'label'",
      "line 3: 'label' must be a non-empty string or an integer (got 1.5)",
      "line 4: 'label' must be a non-empty string or an integer (got true)",
      "line 5: 'text' is empty",
    ]);
    expect(d.labels).toEqual([1]);
  });

  it('the format comes from the first valid line; unknown records before it are reported', () => {
    const d = parseDataset(jsonl('not json', { foo: 1 }, { instruction: 'i', output: 'o' }, { prompt: 'p', completion: 'c' }), skip);
    expect(d.format).toBe('alpaca');
    expect(d.issues.map((i) => i.line)).toEqual([1, 2, 4]);
    expect(d.issues[1]!.reason).toMatch(/^no known fields \(found 'foo'\)/);
    expect(d.issues[2]!.reason).toBe('mixed formats: expected Alpaca instruction/input/output like line 3, found prompt/completion');
  });

  it('BOM, CRLF and trailing blank lines; line numbers count blank lines', () => {
    const text = '\uFEFF' + ['{"text":"a"}', '', '{"text":', '{"text":"b"}', '', '', ''].join('\r\n');
    const d = parseDataset(text, skip);
    expect(d.examples).toEqual([
      { kind: 'text', line: 1, text: 'a' },
      { kind: 'text', line: 4, text: 'b' },
    ]);
    expect(d.issues.map((i) => i.line)).toEqual([3]);
  });

  it('a huge line parses, and a huge broken line gives a short reason', () => {
    const big = 'x'.repeat(5_000_000);
    const d = parseDataset(jsonl({ text: big }, `{"text": "${big}`), skip);
    expect(d.examples).toHaveLength(1);
    expect((d.examples[0] as { text: string }).text.length).toBe(big.length);
    expect(d.issues[0]!.line).toBe(2);
    expect(d.issues[0]!.reason.length).toBeLessThan(250);
  });

  it('keeps at most MAX_KEPT_ISSUES issues but counts all', () => {
    const lines = ['{"text":"ok"}', ...Array.from({ length: MAX_KEPT_ISSUES + 5 }, () => 'bad')];
    const d = parseDataset(lines.join('\n'), skip);
    expect(d.issueCount).toBe(MAX_KEPT_ISSUES + 5);
    expect(d.issues).toHaveLength(MAX_KEPT_ISSUES);
    expect(d.issues.at(-1)!.line).toBe(MAX_KEPT_ISSUES + 1);
  });

  it('files that yield nothing throw in both modes', () => {
    for (const mode of [skip, stop]) {
      expect(thrown(() => parseDataset('', mode)).issues).toEqual([{ line: 0, reason: 'the file is empty' }]);
      expect(thrown(() => parseDataset('\uFEFF\r\n  \n', mode)).issues).toEqual([{ line: 0, reason: 'the file is empty' }]);
      expect(thrown(() => parseDataset('[{"text":"a"}]', mode)).issues[0]!.reason).toBe('the file is a JSON array, not JSON Lines');
    }
    // skip mode with no valid record: the error carries every issue
    const e = thrown(() => parseDataset('x\n{"a":1}\n', skip));
    expect(e.issues.map((i) => i.line)).toEqual([1, 2]);
  });

  it('never throws anything but DataParseError on odd input', () => {
    const odd = ['\u0000', '{}', 'null', '"str"', '{"messages":null}', '{"text":null}', '\r\r\r', '{"prompt":{"a":1},"completion":"x"}', '\uD800'];
    for (const text of odd) {
      try {
        parseDataset(text, skip);
      } catch (e) {
        expect(e).toBeInstanceOf(DataParseError);
      }
    }
  });
});

describe('CSV/TSV through parseDataset', () => {
  it('maps columns to prompt/completion and reports record start lines', () => {
    const csv = 'id,question,answer\r\n1,"Say ""hi""","hi\r\nthere"\r\n2,only two\r\n3,"q3",a3\r\n';
    const d = parseDataset(csv, { onError: 'skip', fileName: 'd.csv', columns: { prompt: 'question', completion: 'answer' } });
    expect(d.format).toBe('prompt_completion');
    expect(d.examples).toEqual([
      { kind: 'prompt_completion', line: 2, prompt: 'Say "hi"', completion: 'hi\r\nthere' },
      { kind: 'prompt_completion', line: 5, prompt: 'q3', completion: 'a3' },
    ]);
    expect(d.issues).toEqual([{ line: 4, reason: 'expected 3 fields like the header, found 2' }]);
  });

  it('TSV text + label with header names used directly', () => {
    const d = parseDataset('text\tlabel\ngood film\tpos\nbad film\tneg\n', { onError: 'stop', fileName: 'd.tsv' });
    expect(d.format).toBe('classification');
    expect(d.labels).toEqual(['neg', 'pos']);
    expect(d.examples[1]).toEqual({ kind: 'classification', line: 3, text: 'bad film', label: 'neg' });
  });

  it('text column only', () => {
    const d = parseDataset('body,x\n"a, b",1\n', { onError: 'stop', fileName: 'd.csv', columns: { text: 'body' } });
    expect(d.examples).toEqual([{ kind: 'text', line: 2, text: 'a, b' }]);
  });

  it('empty mapped cells and bad quoting are record errors; stop mode throws at the first', () => {
    const csv = 'prompt,completion\n"p1",\n"p2"x,c2\n"p3,c3\n';
    const d = parseDataset(csv, { onError: 'skip', fileName: 'd.csv' });
    expect(d.examples).toEqual([{ kind: 'prompt_completion', line: 2, prompt: 'p1', completion: '' }]);
    expect(d.issues.map(formatIssue)).toEqual([
      "line 3: unexpected text after the closing quote in column 1: 'x'",
      'line 4: unterminated quoted field in column 1 (the quote is never closed)',
    ]);
    expect(thrown(() => parseDataset(csv, { onError: 'stop', fileName: 'd.csv' })).issues[0]!.line).toBe(3);
  });

  it('header problems throw in both modes', () => {
    for (const onError of ['skip', 'stop'] as const) {
      const missing = thrown(() => parseDataset('q,a\n1,2\n', { onError, fileName: 'd.csv', columns: { prompt: 'q', completion: 'answer' } }));
      expect(missing.issues[0]!.reason).toBe("column 'answer' not found in the header (columns: 'q', 'a')");
      const unmapped = thrown(() => parseDataset('q,a\n1,2\n', { onError, fileName: 'd.csv' }));
      expect(unmapped.issues[0]!.reason).toBe("no column is mapped (columns: 'q', 'a')");
    }
  });
});

describe('plain text and file types', () => {
  it('.txt becomes one stream with LF line endings', () => {
    const d = parseDataset('\uFEFFline one\r\nline two\r\n', { onError: 'stop', fileName: 'book.txt' });
    expect(d).toEqual({ format: 'plain_text', examples: [{ kind: 'plain_text', line: 1, text: 'line one\nline two\n' }], issues: [], issueCount: 0 });
  });

  it('detects the file type by extension, else by the first non-blank line', () => {
    expect(detectFileType('a.JSONL', 'x')).toBe('jsonl');
    expect(detectFileType('a.csv', '{')).toBe('csv');
    expect(detectFileType('a.tsv', '')).toBe('tsv');
    expect(detectFileType('a.txt', '{"a":1}')).toBe('txt');
    expect(detectFileType('blob', '\n\n  {"a":1}')).toBe('jsonl');
    expect(detectFileType('blob', 'a\tb\n')).toBe('tsv');
    expect(detectFileType('blob', 'a,b\n')).toBe('csv');
    expect(detectFileType('blob', 'Once upon a time\n')).toBe('txt');
    expect(detectFileType('', '')).toBe('txt');
  });
});
