import { describe, expect, it } from 'vitest';
import { DataParseError, formatIssue } from './issues';
import type { DataIssue } from './issues';
import { formatIssueGroup, formatIssueGroups, groupIssues, MAX_GROUP_RANGES, MAX_TRACKED_GROUPS, skippedRecordsSummary } from './issueGroups';
import { parseDataset } from './parse';

const shareGpt = (i: number) => JSON.stringify({ id: `c${i}`, conversations: [{ from: 'human', value: `q${i}` }, { from: 'gpt', value: `a${i}` }] });

function thrown(fn: () => unknown): DataParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataParseError);
    return e as DataParseError;
  }
  throw new Error('expected a DataParseError');
}

describe('issue groups', () => {
  it('one reason on consecutive lines is one group with one range', () => {
    const issues: DataIssue[] = Array.from({ length: 40 }, (_, i) => ({ line: i + 1, reason: "no known fields (found 'conversations')" }));
    const s = groupIssues(issues);
    expect(s).toEqual({ groups: [{ reason: "no known fields (found 'conversations')", count: 40, ranges: [[1, 40]], moreRanges: 0 }], total: 40, unlisted: 0, ungrouped: 0 });
    expect(formatIssueGroup(s.groups[0]!)).toBe("40 lines: no known fields (found 'conversations') — lines 1–40");
  });

  it('largest group first, ties in file order; a single line reads like formatIssue', () => {
    const issues: DataIssue[] = [
      { line: 2, reason: 'a' },
      { line: 5, reason: 'b' },
      { line: 6, reason: 'b' },
      { line: 9, reason: 'b' },
      { line: 0, reason: 'c' },
      { line: 12, reason: 'd' },
    ];
    const s = groupIssues(issues);
    expect(s.groups.map((g) => g.reason)).toEqual(['b', 'a', 'c', 'd']);
    expect(formatIssueGroups(s)).toEqual(['3 lines: b — lines 5–6, 9', formatIssue(issues[0]!), 'file: c', 'line 12: d']);
    expect(formatIssueGroups(s, 2)).toEqual(['3 lines: b — lines 5–6, 9', 'line 2: a', '…and 2 more lines with 2 other reasons']);
  });

  it('caps the ranges of a group and the number of groups', () => {
    const every2 = Array.from({ length: MAX_GROUP_RANGES + 5 }, (_, i) => ({ line: 2 * i + 1, reason: 'odd' }));
    const g = groupIssues(every2).groups[0]!;
    expect(g.ranges).toHaveLength(MAX_GROUP_RANGES);
    expect(g.moreRanges).toBe(5);
    expect(formatIssueGroup(g)).toMatch(/ and 5 more stretches$/);

    const distinct = Array.from({ length: MAX_TRACKED_GROUPS + 7 }, (_, i) => ({ line: i + 1, reason: `reason ${i}` }));
    const s = groupIssues(distinct);
    expect(s.groups).toHaveLength(MAX_TRACKED_GROUPS);
    expect(s.ungrouped).toBe(7);
    expect(formatIssueGroups(s, 1).at(-1)).toBe(`…and ${MAX_TRACKED_GROUPS + 6} more lines with at least ${MAX_TRACKED_GROUPS} other reasons`);
  });

  it('says how many were counted but not listed (a capped list)', () => {
    const s = groupIssues([{ line: 1, reason: 'x' }], 1001);
    expect(s.unlisted).toBe(1000);
    expect(skippedRecordsSummary([{ line: 1, reason: 'x' }], 1001)).toBe('1,001 records skipped: line 1: x; …and 1,000 more not listed (only the first ones are kept)');
    expect(skippedRecordsSummary([])).toBe('no record was skipped');
  });
});

describe('grouped errors from the parser', () => {
  it('a 3,000-line ShareGPT file: one short message naming the key, the count and the lines', () => {
    const text = Array.from({ length: 3000 }, (_, i) => shareGpt(i)).join('\n');
    const e = thrown(() => parseDataset(text, { onError: 'skip', fileName: 'sharegpt.jsonl' }));
    expect(e.detail).toBe("no valid record was found: 3,000 lines: no known fields (found 'id', 'conversations'); expected 'messages', 'prompt'+'completion', 'instruction'+'output', 'text' or 'text'+'label' — lines 1–3000");
    expect(e.message.length).toBeLessThan(1000);
    expect(e.hint).toMatch(/Data formats in the README/);
    expect(e.hint).not.toMatch(/skip/);
    expect(e.issues).toHaveLength(1000); // the kept list; the message grouped all 3,000
  });

  it('no error of skip mode suggests skipping (it is chosen already)', () => {
    const broken = ['{"a":1,"b":2}\n{"c":3}\n', 'prompt,completion\n"p"x,c\n', 'x\n{"a":1}\n', '[{"text":"a"}]', 'q,a\n1,2\n'];
    for (const [i, text] of broken.entries()) {
      const e = thrown(() => parseDataset(text, { onError: 'skip', fileName: i === 0 ? 'pasted.csv' : 'd.csv' }));
      expect(e.hint, text).not.toMatch(/skip/i);
    }
    // stop mode may suggest it
    expect(thrown(() => parseDataset('{"text":"a"}\nbad\n', { onError: 'stop', fileName: 'd.jsonl' })).hint).toMatch(/skip malformed records/);
  });
});
