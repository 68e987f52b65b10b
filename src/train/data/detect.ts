import type { RecordFormat } from './types';

/** How the file's bytes are laid out (before looking at the records). */
export type FileType = 'jsonl' | 'csv' | 'tsv' | 'txt';

/**
 * File type from the name's extension; without a known one, from the first non-blank line:
 * `{` → JSONL, a tab → TSV, a comma → CSV, anything else → plain text.
 */
export function detectFileType(fileName: string, text: string): FileType {
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return 'jsonl';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv' || ext === 'tab') return 'tsv';
  if (ext === 'txt' || ext === 'md' || ext === 'text') return 'txt';
  const first = stripBom(text)
    .split(/\r\n|\n|\r/)
    .find((l) => l.trim() !== '');
  if (first === undefined) return 'txt';
  if (first.trimStart().startsWith('{')) return 'jsonl';
  if (first.includes('\t')) return 'tsv';
  if (first.includes(',')) return 'csv';
  return 'txt';
}

/**
 * The format a record looks like, from its keys (null: none known). The first key family present
 * wins, so a record with 'prompt' but no 'completion' is detected as prompt/completion and then fails
 * validation with "missing 'completion'" rather than as an unknown record.
 */
export function detectRecordFormat(rec: Record<string, unknown>): RecordFormat | null {
  if ('messages' in rec) return 'chat';
  if ('prompt' in rec || 'completion' in rec) return 'prompt_completion';
  if ('instruction' in rec || 'output' in rec) return 'alpaca';
  if ('text' in rec) return 'label' in rec ? 'classification' : 'text';
  return null;
}

/** A leading byte-order mark (U+FEFF) is not data. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
