import { StudioError } from '../../engine/errors';
import type { IssueGroups } from './issueGroups';
import { formatIssueGroups, groupIssues, IssueGrouper } from './issueGroups';

/**
 * Problems found in user data. Every issue names the 1-based line where its record starts
 * (line 0 = the file as a whole, e.g. an empty file or a missing CSV column).
 */
export interface DataIssue {
  line: number;
  reason: string;
}

/** What the caller wants done with a malformed record: drop it and go on, or stop at the first one. */
export type OnError = 'skip' | 'stop';

/** Error codes of the data pipeline (E4xx). */
export const DataErrorCode = {
  /** malformed input with onError 'stop', or a file that cannot be read at all */
  parse: 'E401',
  /** the tokenizer cannot do what the data needs (no chat template, no eos token) */
  tokenizer: 'E402',
  /** a bad option passed by the caller (maxLength < 2, fraction outside [0, 1), …) */
  badOption: 'E403',
  /** the tokenizer's chat template does not parse (lexer/parser error, unclosed block, too long) */
  templateSyntax: 'E404',
  /** the chat template called raise_exception (it refuses the conversation, e.g. roles not alternating) */
  templateRaised: 'E405',
  /** a chat template render went over its budget (steps, loop length, output size, recursion, time) */
  templateBudget: 'E406',
  /** any other chat template failure while rendering (unknown filter, bad operand, unsupported construct) */
  templateRender: 'E407',
} as const;

/** Issues are kept up to this many; the total is still counted (a file of a million bad lines stays small). */
export const MAX_KEPT_ISSUES = 1000;

/** "line 17: invalid JSON: …" or "file: …" for line 0. */
export function formatIssue(issue: DataIssue): string {
  return issue.line > 0 ? `line ${issue.line}: ${issue.reason}` : `file: ${issue.reason}`;
}

/** Up to this many issues an error message lists them one by one; more are grouped by reason. */
const LISTED_IN_MESSAGE = 3;

/**
 * Thrown by the parsers with onError 'stop' (the first issue) and for unreadable files. The hint is
 * the caller's: only it knows what the user can change (and never suggests what is already chosen).
 * Many issues are grouped by reason in the message (`groups`: every issue a log counted).
 */
export class DataParseError extends StudioError {
  readonly issues: DataIssue[];
  constructor(issues: DataIssue[], hint: string, opts: { lead?: string; groups?: IssueGroups } = {}) {
    const listed = !opts.groups && issues.length <= LISTED_IN_MESSAGE ? issues.map(formatIssue).join('; ') : formatIssueGroups(opts.groups ?? groupIssues(issues), LISTED_IN_MESSAGE).join('; ');
    super(DataErrorCode.parse, opts.lead ? `${opts.lead}: ${listed}` : listed, hint);
    this.name = 'DataParseError';
    this.issues = issues;
  }
}

/**
 * Collects issues for one parse: keeps the first MAX_KEPT_ISSUES, counts and groups all of them
 * (issueGroups.ts), throws at once in 'stop' mode.
 */
export class IssueLog {
  readonly issues: DataIssue[] = [];
  count = 0;
  readonly grouper = new IssueGrouper();
  constructor(private readonly onError: OnError) {}

  add(line: number, reason: string): void {
    this.count++;
    this.grouper.add(line, reason);
    if (this.issues.length < MAX_KEPT_ISSUES) this.issues.push({ line, reason });
    if (this.onError === 'stop') throw new DataParseError([{ line, reason }], 'fix the line, or choose to skip malformed records and list them');
  }
}

/** Long user text inside a reason (a huge line, an engine's JSON message) is cut to keep reports readable. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
