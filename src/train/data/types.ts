import type { DataIssue } from './issues';

/** The record formats of a JSONL/CSV dataset, plus 'plain_text' for a .txt file. */
export type RecordFormat = 'chat' | 'prompt_completion' | 'alpaca' | 'text' | 'classification';
export type DatasetFormat = RecordFormat | 'plain_text';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** A classification label as the file gave it: a string or an integer. */
export type Label = string | number;

/** One parsed record. `line` is the 1-based line where the record starts in the file. */
export type Example =
  | { kind: 'chat'; line: number; messages: ChatMessage[] }
  | { kind: 'prompt_completion'; line: number; prompt: string; completion: string }
  | { kind: 'alpaca'; line: number; instruction: string; input: string; output: string }
  | { kind: 'text'; line: number; text: string }
  | { kind: 'classification'; line: number; text: string; label: Label }
  /** a whole .txt file: tokenized as one stream and packed into fixed-length blocks */
  | { kind: 'plain_text'; line: number; text: string };

export interface ParsedDataset {
  format: DatasetFormat;
  examples: Example[];
  /** malformed records that were skipped (at most MAX_KEPT_ISSUES kept) */
  issues: DataIssue[];
  /** total number of malformed records, including any beyond the kept list */
  issueCount: number;
  /** classification only: the distinct labels, integers ascending then strings in code-unit order */
  labels?: Label[];
}

/** A tokenized training sequence. labels[t] = −100 where no loss is taken (prompt tokens). */
export interface TokenizedExample {
  inputIds: number[]; // (T)
  labels: number[]; // (T)
  /** 1-based line of the source record; for packed .txt blocks the line of the file (1) */
  line: number;
  /** packed .txt only: index of the block in the stream */
  block?: number;
}

/** The label value that the loss ignores (PyTorch's CrossEntropyLoss default ignore_index). */
export const IGNORE_INDEX = -100;
