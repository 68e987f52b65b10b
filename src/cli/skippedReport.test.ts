import { describe, expect, it } from 'vitest';
import { parseDataset } from '../train/data/parse';
import { skippedRecordsReport } from './train';

describe('cli train: skipped records', () => {
  it('prints the count, then the groups the studio shows (reason and line ranges), and where the formats are', () => {
    const good = Array.from({ length: 10 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] }));
    const shareGpt = Array.from({ length: 40 }, (_, i) => JSON.stringify({ conversations: [{ from: 'human', value: `q${i}` }] }));
    const parsed = parseDataset([...good, ...shareGpt, '{broken'].join('\n'), { onError: 'skip', fileName: 'mixed.jsonl' });
    const report = skippedRecordsReport({ issues: [...parsed.issues, { line: 3, reason: 'nothing left to learn after cutting at 8 tokens' }], malformedRecords: parsed.issueCount, dropped: 1 });
    expect(report[0]).toBe('42 records skipped (41 malformed, 1 with nothing to learn after cutting at the max length):');
    expect(report[1]).toBe("  40 lines: missing 'messages' — lines 11–50");
    expect(report[2]).toMatch(/^ {2}line 51: invalid JSON: /);
    expect(report[3]).toBe('  line 3: nothing left to learn after cutting at 8 tokens');
    expect(report.at(-1)).toBe('  the formats the studio reads: README.md#data-formats');
    expect(skippedRecordsReport({ issues: [], malformedRecords: 0, dropped: 0 })).toEqual([]);
  });
});
