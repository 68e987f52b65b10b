import { parseCsv } from './csv';
import { detectFileType, detectRecordFormat, stripBom } from './detect';
import type { FileType } from './detect';
import { FORMAT_NAMES, labelSet, validateRecord } from './formats';
import { clip, DataParseError, IssueLog } from './issues';
import type { OnError } from './issues';
import type { Example, Label, ParsedDataset, RecordFormat } from './types';

/** What the parser reads, for hints (README.md#data-formats describes each with an example). */
const ACCEPTED =
  "the studio reads JSON Lines records with 'messages' (chat), 'prompt'+'completion', 'instruction'+'output' (Alpaca), 'text' or 'text'+'label'; CSV/TSV with such columns; or plain text (see Data formats in the README)";

/** CSV/TSV fields that a column can be mapped to. */
export type CsvField = 'prompt' | 'completion' | 'instruction' | 'input' | 'output' | 'text' | 'label';
const CSV_FIELDS: readonly CsvField[] = ['prompt', 'completion', 'instruction', 'input', 'output', 'text', 'label'];

/** CSV/TSV: which header column holds each field, e.g. `{ prompt: 'question', completion: 'answer' }`. */
export type ColumnMapping = Partial<Record<CsvField, string>>;

export interface ParseOptions {
  /** what to do with a malformed record: drop it and report it, or throw at the first one */
  onError: OnError;
  /** used to pick the file type by extension */
  fileName?: string;
  /** overrides the file type detected from fileName / content */
  fileType?: FileType;
  /** JSONL/CSV: the record format; by default the format of the first valid record */
  format?: RecordFormat;
  /** CSV/TSV: column mapping; by default header columns named like the fields (prompt, text, label, …) */
  columns?: ColumnMapping;
}

/**
 * Parses a dataset file's text. Malformed records are reported with their 1-based line (for CSV the
 * line where the record starts) and skipped, or thrown as a DataParseError with onError 'stop'.
 * A file that yields nothing (empty, a JSON array, an unusable CSV header, no valid record) throws a
 * DataParseError in both modes.
 */
export function parseDataset(text: string, options: ParseOptions): ParsedDataset {
  const body = stripBom(text);
  if (body.trim() === '') throw new DataParseError([{ line: 0, reason: 'the file is empty' }], 'choose a file with data');
  const fileType = options.fileType ?? detectFileType(options.fileName ?? '', body);
  const log = new IssueLog(options.onError);
  if (fileType === 'txt') {
    // One stream of text; line endings normalised so CRLF files tokenize like LF files.
    return { format: 'plain_text', examples: [{ kind: 'plain_text', line: 1, text: body.replace(/\r\n?/g, '\n') }], issues: [], issueCount: 0 };
  }
  const acc = new RecordAccumulator(log, options.format);
  if (fileType === 'jsonl') parseJsonl(body, acc, log);
  else parseDelimited(body, fileType === 'tsv' ? '\t' : ',', options, acc, log);
  if (acc.examples.length === 0) {
    if (log.count === 0) throw new DataParseError([{ line: 0, reason: 'no records found' }], ACCEPTED);
    // every issue of the file, grouped: one wrong shape on 3,000 lines is one line of the message
    throw new DataParseError(log.issues, ACCEPTED, { lead: 'no valid record was found', groups: log.grouper.groups() });
  }
  const format = acc.format!;
  const out: ParsedDataset = { format, examples: acc.examples, issues: log.issues, issueCount: log.count };
  if (format === 'classification') {
    out.labels = labelSet(acc.examples.map((e) => (e as Extract<Example, { kind: 'classification' }>).label as Label));
  }
  return out;
}

/** Holds the dataset's format (forced, or taken from the first valid record) and validates records against it. */
class RecordAccumulator {
  readonly examples: Example[] = [];
  format: RecordFormat | undefined;
  private formatLine = 0; // 0 = chosen by the caller

  constructor(
    private readonly log: IssueLog,
    forced: RecordFormat | undefined,
  ) {
    this.format = forced;
  }

  add(rec: Record<string, unknown>, line: number): void {
    const detected = detectRecordFormat(rec);
    const expected = this.format;
    if (expected === undefined && detected === null) {
      const keys = Object.keys(rec).slice(0, 8).map((k) => `'${clip(k, 30)}'`);
      this.log.add(line, `no known fields (found ${keys.length ? keys.join(', ') : 'none'}); expected 'messages', 'prompt'+'completion', 'instruction'+'output', 'text' or 'text'+'label'`);
      return;
    }
    const fmt = expected ?? detected!;
    // A record with none of the format's keys is checked against it (→ "missing 'completion'");
    // text records in a classification file lack only the label.
    const compatible = detected === null || detected === fmt || (fmt === 'classification' && detected === 'text');
    if (!compatible) {
      const where = this.formatLine > 0 ? `like line ${this.formatLine}` : '(the chosen format)';
      this.log.add(line, `mixed formats: expected ${FORMAT_NAMES[fmt]} ${where}, found ${FORMAT_NAMES[detected!]}`);
      return;
    }
    const result = validateRecord(fmt, rec, line);
    if (typeof result === 'string') {
      this.log.add(line, result);
      return;
    }
    if (this.format === undefined) {
      this.format = fmt;
      this.formatLine = line;
    }
    this.examples.push(result);
  }
}

function parseJsonl(body: string, acc: RecordAccumulator, log: IssueLog): void {
  if (body.trimStart().startsWith('[')) {
    throw new DataParseError([{ line: 1, reason: 'the file is a JSON array, not JSON Lines' }], 'write one JSON object per line (JSONL)');
  }
  const lines = body.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      log.add(line, `invalid JSON: ${clip(e instanceof Error ? e.message : String(e))}`);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      log.add(line, `expected a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
      continue;
    }
    acc.add(value as Record<string, unknown>, line);
  }
}

function parseDelimited(body: string, delimiter: ',' | '\t', options: ParseOptions, acc: RecordAccumulator, log: IssueLog): void {
  const records = parseCsv(body, delimiter);
  const header = records[0];
  const kind = delimiter === ',' ? 'CSV' : 'TSV';
  if (header === undefined) throw new DataParseError([{ line: 0, reason: 'the file is empty' }], 'choose a file with data');
  // The header cannot be skipped like a record: the fix is the header, or another file type.
  if (header.error !== undefined) throw new DataParseError([{ line: header.line, reason: `header: ${header.error}` }], `the text was read as ${kind} with a header row: fix that line, or if it is not ${kind}, give it its type (.jsonl, .txt)`);
  const names = header.fields.map((f) => f.trim());
  const columnList = names.map((n) => `'${clip(n, 30)}'`).join(', ');

  // field → column index
  const mapping: [CsvField, number][] = [];
  if (options.columns !== undefined) {
    for (const [field, column] of Object.entries(options.columns) as [CsvField, string | undefined][]) {
      if (column === undefined) continue;
      if (!CSV_FIELDS.includes(field)) throw new DataParseError([{ line: 0, reason: `'${field}' cannot be mapped to a column` }], `map columns to ${CSV_FIELDS.join(', ')}`);
      const index = names.indexOf(column.trim());
      if (index < 0) throw new DataParseError([{ line: header.line, reason: `column '${column}' not found in the header (columns: ${columnList})` }], 'pick columns that exist in the header');
      mapping.push([field, index]);
    }
  } else {
    for (const field of CSV_FIELDS) {
      const index = names.indexOf(field);
      if (index >= 0) mapping.push([field, index]);
    }
  }
  if (mapping.length === 0) {
    throw new DataParseError(
      [{ line: header.line, reason: `no column is mapped (columns: ${columnList})` }],
      'map columns to prompt + completion, instruction + output, text, or text + label',
    );
  }

  for (let r = 1; r < records.length; r++) {
    const rec = records[r]!;
    if (rec.error !== undefined) {
      log.add(rec.line, rec.error);
      continue;
    }
    if (rec.fields.length !== names.length) {
      log.add(rec.line, `expected ${names.length} fields like the header, found ${rec.fields.length}`);
      continue;
    }
    const obj: Record<string, unknown> = {};
    for (const [field, index] of mapping) obj[field] = rec.fields[index];
    acc.add(obj, rec.line);
  }
}
