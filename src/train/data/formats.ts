import { clip } from './issues';
import type { ChatMessage, ChatRole, Example, Label, RecordFormat } from './types';

/**
 * The record formats: each validator turns one decoded record (a JSON object, or a CSV row mapped to
 * field names) into an Example, or returns the reason it cannot. Unknown extra keys are ignored.
 */

/** Names used in messages to the user. */
export const FORMAT_NAMES: Record<RecordFormat | 'plain_text', string> = {
  chat: 'chat messages',
  prompt_completion: 'prompt/completion',
  alpaca: 'Alpaca instruction/input/output',
  text: 'text',
  classification: 'text/label',
  plain_text: 'plain text',
};

/** The fields each format reads (CSV column mappings name these). */
export const FORMAT_FIELDS: Record<RecordFormat, readonly string[]> = {
  chat: ['messages'],
  prompt_completion: ['prompt', 'completion'],
  alpaca: ['instruction', 'input', 'output'],
  text: ['text'],
  classification: ['text', 'label'],
};

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];

type Rec = Record<string, unknown>;
type Result = Example | string;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${clip(value, 40)}'`;
  if (typeof value === 'object') return 'an object';
  return clip(String(value), 40);
}

/** The string at rec[key], or the reason it is not one. */
function stringField(rec: Rec, key: string, allowEmpty = true): string | { error: string } {
  if (!(key in rec) || rec[key] === undefined) return { error: `missing '${key}'` };
  const v = rec[key];
  if (typeof v !== 'string') return { error: `'${key}' must be a string (got ${describe(v)})` };
  if (!allowEmpty && v.trim() === '') return { error: `'${key}' is empty` };
  return v;
}

function validateChat(rec: Rec, line: number): Result {
  if (!('messages' in rec)) return "missing 'messages'";
  const raw = rec.messages;
  if (!Array.isArray(raw)) return `'messages' must be an array (got ${describe(raw)})`;
  if (raw.length === 0) return "'messages' is empty";
  const messages: ChatMessage[] = [];
  for (let i = 0; i < raw.length; i++) {
    const m: unknown = raw[i];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      return `messages[${i}] must be an object with 'role' and 'content' (got ${describe(m)})`;
    }
    const { role, content } = m as Rec;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      return `messages[${i}].role must be one of ${ROLES.join(', ')} (got ${describe(role)})`;
    }
    if (typeof content !== 'string') return `messages[${i}].content must be a string (got ${describe(content)})`;
    messages.push({ role: role as ChatRole, content });
  }
  const last = messages[messages.length - 1]!;
  if (!messages.some((m) => m.role === 'assistant')) return 'no assistant message to learn from';
  // Only the final assistant turn is supervised; messages after it would be silently lost.
  if (last.role !== 'assistant') return `the conversation must end with an assistant message (last role is '${last.role}')`;
  if (!messages.slice(0, -1).some((m) => m.role === 'user')) return 'no user message before the final assistant message';
  return { kind: 'chat', line, messages };
}

function validatePromptCompletion(rec: Rec, line: number): Result {
  const prompt = stringField(rec, 'prompt');
  if (typeof prompt !== 'string') return prompt.error;
  const completion = stringField(rec, 'completion');
  if (typeof completion !== 'string') return completion.error;
  return { kind: 'prompt_completion', line, prompt, completion };
}

function validateAlpaca(rec: Rec, line: number): Result {
  const instruction = stringField(rec, 'instruction', false);
  if (typeof instruction !== 'string') return instruction.error;
  // 'input' is optional: absent, null and '' all mean "no input".
  let input = '';
  if (rec.input !== undefined && rec.input !== null) {
    if (typeof rec.input !== 'string') return `'input' must be a string (got ${describe(rec.input)})`;
    input = rec.input;
  }
  const output = stringField(rec, 'output');
  if (typeof output !== 'string') return output.error;
  return { kind: 'alpaca', line, instruction, input, output };
}

function validateText(rec: Rec, line: number): Result {
  const text = stringField(rec, 'text', false);
  if (typeof text !== 'string') return text.error;
  return { kind: 'text', line, text };
}

function validateClassification(rec: Rec, line: number): Result {
  const text = stringField(rec, 'text', false);
  if (typeof text !== 'string') return text.error;
  if (!('label' in rec) || rec.label === undefined) return "missing 'label'";
  const label = rec.label;
  const ok = (typeof label === 'string' && label.trim() !== '') || (typeof label === 'number' && Number.isSafeInteger(label));
  if (!ok) return `'label' must be a non-empty string or an integer (got ${describe(label)})`;
  return { kind: 'classification', line, text, label: label as Label };
}

const VALIDATORS: Record<RecordFormat, (rec: Rec, line: number) => Result> = {
  chat: validateChat,
  prompt_completion: validatePromptCompletion,
  alpaca: validateAlpaca,
  text: validateText,
  classification: validateClassification,
};

/** Checks one record against a format: the Example, or the reason (without the line prefix). */
export function validateRecord(format: RecordFormat, rec: Rec, line: number): Example | string {
  return VALIDATORS[format](rec, line);
}

/** Distinct labels: integers ascending, then strings in code-unit order (independent of record order). */
export function labelSet(labels: Iterable<Label>): Label[] {
  const nums = new Set<number>();
  const strs = new Set<string>();
  for (const l of labels) {
    if (typeof l === 'number') nums.add(l);
    else strs.add(l);
  }
  return [...[...nums].sort((a, b) => a - b), ...[...strs].sort()];
}
