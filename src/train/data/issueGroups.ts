import type { DataIssue } from './issues';

/**
 * Skipped records grouped by reason, for people: a 3,000-line file of one wrong shape is one line
 * ("3,000 lines: no known fields (found 'conversations') … — lines 1–3000"), not 3,000. The studio's
 * Data screen, `cli train` and the errors that list skipped records (E401 with no valid record, E302
 * with no example left) all print these groups, so they read the same everywhere.
 */

/** One reason and the lines that had it, as ranges of consecutive line numbers in file order. */
export interface IssueGroup {
  reason: string;
  count: number;
  /** inclusive [first, last] line ranges, in the order met; at most MAX_GROUP_RANGES kept */
  ranges: [number, number][];
  /** ranges met after the kept ones */
  moreRanges: number;
}

export interface IssueGroups {
  /** largest first; equal counts in file order */
  groups: IssueGroup[];
  /** issues counted by the producer (a capped list may hold fewer) */
  total: number;
  /** issues counted but not listed (beyond a producer's cap): their reasons are unknown */
  unlisted: number;
  /** issues whose reason came after MAX_TRACKED_GROUPS distinct ones (counted, not grouped) */
  ungrouped: number;
}

export const MAX_GROUP_RANGES = 12;
/** Distinct reasons tracked; a file of a million different broken lines stays small. */
export const MAX_TRACKED_GROUPS = 200;

interface Tracked extends IssueGroup {
  first: number;
  order: number;
  last: number;
  /** the run that `last` belongs to is one of `ranges` (not counted in moreRanges) */
  keptRun: boolean;
}

/** Groups issues one at a time (a parser's log feeds every issue, also those beyond its kept list). */
export class IssueGrouper {
  private readonly byReason = new Map<string, Tracked>();
  private count = 0;
  private ungrouped = 0;

  add(line: number, reason: string): void {
    this.count++;
    let g = this.byReason.get(reason);
    if (!g) {
      if (this.byReason.size >= MAX_TRACKED_GROUPS) {
        this.ungrouped++;
        return;
      }
      g = { reason, count: 0, ranges: [], moreRanges: 0, first: line, order: this.byReason.size, last: Number.NaN, keptRun: false };
      this.byReason.set(reason, g);
    }
    g.count++;
    if (line === g.last || line === g.last + 1) {
      if (g.keptRun) g.ranges[g.ranges.length - 1]![1] = line;
    } else if (g.ranges.length < MAX_GROUP_RANGES) {
      g.ranges.push([line, line]);
      g.keptRun = true;
    } else {
      g.moreRanges++;
      g.keptRun = false;
    }
    g.last = line;
  }

  /** `total`: how many the producer counted, when it listed fewer than it counted. */
  groups(total = this.count): IssueGroups {
    const groups = [...this.byReason.values()]
      .sort((a, b) => b.count - a.count || a.order - b.order)
      .map((g): IssueGroup => ({ reason: g.reason, count: g.count, ranges: g.ranges.map((r) => [r[0], r[1]]), moreRanges: g.moreRanges }));
    return { groups, total: Math.max(total, this.count), unlisted: Math.max(0, total - this.count), ungrouped: this.ungrouped };
  }
}

/** Groups a list of issues; `total` is the producer's count when the list is capped (DataSummary.issueCount). */
export function groupIssues(issues: readonly DataIssue[], total = issues.length): IssueGroups {
  const g = new IssueGrouper();
  for (const i of issues) g.add(i.line, i.reason);
  return g.groups(total);
}

/** 3000 → "3,000" (the same in every locale: the CLI and the tests read it). */
export function formatInt(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "lines 1–40, 42, 45–60 and 3 more stretches"; "line 7"; "the file as a whole" for line 0. */
export function describeLines(g: IssueGroup): string {
  if (g.ranges.length === 1 && g.ranges[0]![0] === 0 && g.ranges[0]![1] === 0) return 'the file as a whole';
  const parts = g.ranges.map(([a, b]) => (a === b ? String(a) : `${a}–${b}`));
  const single = g.ranges.length === 1 && g.ranges[0]![0] === g.ranges[0]![1] && g.moreRanges === 0;
  const more = g.moreRanges > 0 ? ` and ${formatInt(g.moreRanges)} more stretch${g.moreRanges === 1 ? '' : 'es'}` : '';
  return `${single ? 'line' : 'lines'} ${parts.join(', ')}${more}`;
}

/** "40 lines: <reason> — lines 1–40"; one line reads like formatIssue ("line 7: <reason>", "file: <reason>"). */
export function formatIssueGroup(g: IssueGroup): string {
  if (g.count === 1 && g.ranges.length === 1) {
    const line = g.ranges[0]![0];
    return line > 0 ? `line ${line}: ${g.reason}` : `file: ${g.reason}`;
  }
  return `${formatInt(g.count)} lines: ${g.reason} — ${describeLines(g)}`;
}

/** What the first `maxGroups` groups leave out, as one sentence (null when nothing is left out). */
export function describeRest(s: IssueGroups, maxGroups: number): string | null {
  const rest = s.groups.slice(maxGroups);
  const restCount = rest.reduce((a, g) => a + g.count, 0) + s.ungrouped;
  const parts: string[] = [];
  if (restCount > 0) {
    const reasons = rest.length + (s.ungrouped > 0 ? 1 : 0);
    parts.push(`${formatInt(restCount)} more line${restCount === 1 ? '' : 's'} with ${s.ungrouped > 0 ? 'at least ' : ''}${formatInt(reasons)} other reason${reasons === 1 ? '' : 's'}`);
  }
  if (s.unlisted > 0) parts.push(`${formatInt(s.unlisted)} more not listed (only the first ones are kept)`);
  return parts.length ? `…and ${parts.join('; ')}` : null;
}

/** The groups as lines of text: the first `maxGroups`, then what was left out. */
export function formatIssueGroups(s: IssueGroups, maxGroups = 5): string[] {
  const lines = s.groups.slice(0, maxGroups).map(formatIssueGroup);
  const rest = describeRest(s, maxGroups);
  return rest ? [...lines, rest] : lines;
}

/**
 * One sentence for an error message: "3,000 records skipped: 3,000 lines: … — lines 1–3000". For E302
 * (no training example left) and E401 (no valid record): bounded by `maxGroups`, whatever the file.
 */
export function skippedRecordsSummary(issues: readonly DataIssue[], total = issues.length, maxGroups = 3): string {
  return summaryOf(groupIssues(issues, total), maxGroups);
}

/** skippedRecordsSummary for groups already made (a parser's IssueGrouper). */
export function summaryOf(s: IssueGroups, maxGroups = 3): string {
  if (s.total === 0) return 'no record was skipped';
  return `${formatInt(s.total)} record${s.total === 1 ? '' : 's'} skipped: ${formatIssueGroups(s, maxGroups).join('; ')}`;
}

/** Where the accepted formats are described (the README section the studio and the CLI point to). */
export const DATA_FORMATS_DOC = 'README.md#data-formats';
