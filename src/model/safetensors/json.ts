/**
 * A strict JSON reader for safetensors headers, written as a loop over the text with an explicit
 * stack (no recursion, so no input can exhaust the call stack). Where JSON.parse is lenient it refuses:
 *  - a key repeated in one object (JSON.parse silently keeps the last one);
 *  - a lone surrogate escape such as "\ud800" (Rust's serde_json, behind the reference reader, refuses it);
 *  - containers nested deeper than MAX_JSON_DEPTH (serde_json stops at 128; a real header nests 3 deep).
 * It also keeps what JSON.parse loses: each number's source text (so "2.0", "1e3" or a 20-digit offset
 * can be refused where an exact integer is required) and the source order of keys (a JS object moves
 * integer-like keys such as "0" to the front). Objects come back as Map (no "__proto__" surprises).
 * Failures are StrictJsonError with a position or a key path; parse.ts turns them into coded errors.
 */

/** A number as written in the text; `raw` always matches the JSON number grammar. */
export class JsonNumber {
  constructor(readonly raw: string) {}
}
export type JsonObject = Map<string, JsonValue>;
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

export const MAX_JSON_DEPTH = 64;

export type StrictJsonProblem =
  | { kind: 'syntax'; at: number; what: string }
  | { kind: 'depth'; at: number }
  /** `path`: the keys (or array positions) of the containers around the object holding `key` twice. */
  | { kind: 'duplicate'; at: number; path: (string | number)[]; key: string };

export class StrictJsonError extends Error {
  constructor(readonly problem: StrictJsonProblem) {
    super(problem.kind === 'duplicate' ? `key ${JSON.stringify(clip(problem.key))} appears twice` : problem.kind);
    this.name = 'StrictJsonError';
  }
}

/** One open container; for an object, `key` is the key whose value is being read. */
type Frame = { obj: JsonObject; key: string } | { arr: JsonValue[] };

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function parseStrictJson(text: string): JsonValue {
  const stack: Frame[] = [];
  let root: JsonValue = null;
  let i = 0;
  // 'value': a value must come; 'key': a key must come; 'first*': the same right after '{' / '[' (may close);
  // 'next': after a value, a ',' or the closing bracket (or the end of the text at the top level).
  let want: 'value' | 'key' | 'firstValue' | 'firstKey' | 'next' = 'value';
  const syntax = (what: string): never => {
    throw new StrictJsonError({ kind: 'syntax', at: i, what });
  };
  const put = (v: JsonValue): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) root = v;
    else if ('arr' in top) top.arr.push(v);
    else top.obj.set(top.key, v);
  };

  for (;;) {
    i = skipSpace(text, i);
    const top = stack[stack.length - 1];
    const c = text[i];
    if (want === 'next') {
      if (top === undefined) {
        if (i < text.length) syntax('text after the end of the JSON value');
        return root;
      }
      const close = 'arr' in top ? ']' : '}';
      if (c === ',') {
        i++;
        want = 'arr' in top ? 'value' : 'key';
      } else if (c === close) {
        i++;
        stack.pop();
      } else {
        syntax(c === undefined ? `unexpected end, expected ',' or '${close}'` : `expected ',' or '${close}'`);
      }
      continue;
    }
    if (want === 'key' || want === 'firstKey') {
      const obj = (top as { obj: JsonObject }).obj;
      if (want === 'firstKey' && c === '}') {
        i++;
        stack.pop();
        want = 'next';
        continue;
      }
      if (c !== '"') syntax(c === undefined ? 'unexpected end, expected a "quoted" key' : 'expected a "quoted" key');
      const at = i;
      const [key, after] = readString(text, i);
      i = skipSpace(text, after);
      if (text[i] !== ':') syntax("expected ':' after the key");
      i++;
      if (obj.has(key)) {
        const path = stack.slice(0, -1).map((f) => ('arr' in f ? f.arr.length - 1 : f.key));
        throw new StrictJsonError({ kind: 'duplicate', at, path, key });
      }
      (top as { obj: JsonObject; key: string }).key = key;
      want = 'value';
      continue;
    }
    if (want === 'firstValue' && c === ']') {
      i++;
      stack.pop();
      want = 'next';
      continue;
    }
    // a value
    if (c === '{' || c === '[') {
      if (stack.length >= MAX_JSON_DEPTH) throw new StrictJsonError({ kind: 'depth', at: i });
      i++;
      if (c === '{') {
        const obj: JsonObject = new Map();
        put(obj);
        stack.push({ obj, key: '' });
        want = 'firstKey';
      } else {
        const arr: JsonValue[] = [];
        put(arr);
        stack.push({ arr });
        want = 'firstValue';
      }
      continue;
    }
    if (c === '"') {
      const [s, after] = readString(text, i);
      put(s);
      i = after;
    } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) syntax('malformed number');
      put(new JsonNumber(m![0]));
      i += m![0].length;
    } else if (text.startsWith('true', i)) {
      put(true);
      i += 4;
    } else if (text.startsWith('false', i)) {
      put(false);
      i += 5;
    } else if (text.startsWith('null', i)) {
      put(null);
      i += 4;
    } else {
      syntax(c === undefined ? 'unexpected end, expected a value' : 'expected a value');
    }
    want = 'next';
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** Reads the string whose opening quote is at `start`; returns it and the index after the closing quote. */
function readString(text: string, start: number): [string, number] {
  const syntax = (at: number, what: string): never => {
    throw new StrictJsonError({ kind: 'syntax', at, what });
  };
  let out = '';
  let run = start + 1; // start of the current stretch of plain characters
  let i = run;
  for (;;) {
    const c = text.charCodeAt(i);
    if (Number.isNaN(c)) syntax(i, 'unexpected end inside a string');
    if (c === 0x22) return [out + text.slice(run, i), i + 1];
    if (c < 0x20) syntax(i, 'unescaped control character in a string');
    if (c !== 0x5c) {
      i++;
      continue;
    }
    out += text.slice(run, i);
    const e = text[i + 1];
    if (e === 'u') {
      const unit = hex4(text, i + 2);
      if (unit < 0) syntax(i, 'malformed \\u escape');
      i += 6;
      if (unit >= 0xdc00 && unit <= 0xdfff) syntax(i - 6, 'lone low surrogate escape');
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const low = text[i] === '\\' && text[i + 1] === 'u' ? hex4(text, i + 2) : -1;
        if (low < 0xdc00 || low > 0xdfff) syntax(i - 6, 'lone high surrogate escape');
        out += String.fromCharCode(unit, low);
        i += 6;
      } else {
        out += String.fromCharCode(unit);
      }
    } else {
      const plain = e === undefined ? undefined : ESCAPES[e];
      if (plain === undefined) syntax(i, 'invalid escape in a string');
      out += plain;
      i += 2;
    }
    run = i;
  }
}

function hex4(text: string, at: number): number {
  const h = text.slice(at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(h) ? parseInt(h, 16) : -1;
}

/** Shortens a string for a message. */
export function clip(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A short, bounded rendering of a value for error messages (never the whole of a huge or deep value). */
export function describeJson(v: JsonValue | undefined, depth = 0): string {
  if (v === undefined) return 'nothing';
  if (v === null || typeof v === 'boolean') return String(v);
  if (v instanceof JsonNumber) return clip(v.raw, 40);
  if (typeof v === 'string') return JSON.stringify(clip(v, 40));
  if (depth >= 2) return Array.isArray(v) ? '[…]' : '{…}';
  const parts: string[] = [];
  if (Array.isArray(v)) {
    for (const x of v.slice(0, 8)) parts.push(describeJson(x, depth + 1));
  } else {
    for (const [k, x] of v) {
      if (parts.length === 4) break;
      parts.push(`${JSON.stringify(clip(k, 40))}:${describeJson(x, depth + 1)}`);
    }
  }
  if ((Array.isArray(v) ? v.length : v.size) > parts.length) parts.push('…');
  return clip(Array.isArray(v) ? `[${parts.join(',')}]` : `{${parts.join(',')}}`, 160);
}

/** 'a number', 'an array', … for messages. */
export function jsonKind(v: JsonValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'string') return 'a string';
  if (v instanceof JsonNumber) return 'a number';
  return Array.isArray(v) ? 'an array' : 'an object';
}
