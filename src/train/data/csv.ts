/**
 * A small RFC 4180 reader (no dependency): fields separated by `delimiter`, records by CRLF, LF or CR;
 * a field that starts with `"` is quoted and may hold delimiters, line breaks (kept as written) and
 * doubled quotes (`""` → `"`). Lenient where common files are: a `"` inside an unquoted field is kept
 * literally (TSV exports do this). Strict where data would be lost: text after a closing quote and a
 * quote never closed are errors of that record.
 */
export interface CsvRecord {
  /** 1-based line where the record starts */
  line: number;
  fields: string[];
  /** set when the record is malformed; its fields are then not to be trusted */
  error?: string;
}

function countLineBreaks(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13 && s.charCodeAt(i + 1) !== 10) n++;
  }
  return n;
}

/** All records in file order; blank lines are skipped. `text` must not start with a BOM. */
export function parseCsv(text: string, delimiter: ',' | '\t'): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  let recLine = 1;
  let fields: string[] = [];
  let error: string | undefined;
  let quoted = false; // a record holding a quoted field is never a blank line, even `""`

  const endRecord = () => {
    const blank = fields.length === 1 && fields[0] === '' && error === undefined && !quoted;
    if (!blank) records.push(error === undefined ? { line: recLine, fields } : { line: recLine, fields, error });
    fields = [];
    error = undefined;
    quoted = false;
  };

  // Each loop iteration reads one field, then the separator after it.
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      // Quoted field: runs to the next quote that is not doubled. Parts are joined once (fast on huge fields).
      quoted = true;
      i++;
      let closed = false;
      const parts: string[] = [];
      while (i < n) {
        const q = text.indexOf('"', i);
        const chunk = text.slice(i, q < 0 ? n : q);
        parts.push(chunk);
        line += countLineBreaks(chunk);
        if (q < 0) {
          i = n;
          break;
        }
        if (text[q + 1] === '"') {
          parts.push('"');
          i = q + 2;
        } else {
          i = q + 1;
          closed = true;
          break;
        }
      }
      field = parts.join('');
      if (!closed) {
        error ??= `unterminated quoted field in column ${fields.length + 1} (the quote is never closed)`;
        fields.push(field);
        endRecord();
        return records;
      }
      // Anything up to the separator is an error (RFC 4180 allows nothing there); keep it literally.
      const start = i;
      while (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') i++;
      if (i > start) {
        error ??= `unexpected text after the closing quote in column ${fields.length + 1}: '${text.slice(start, Math.min(i, start + 20))}'`;
        field += text.slice(start, i);
      }
    } else {
      const start = i;
      while (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') i++;
      field = text.slice(start, i);
    }
    fields.push(field);

    if (i >= n) {
      // End of input: a final record without a line break (an empty trailing line adds nothing).
      endRecord(); // skips an empty last line
      return records;
    }
    const c = text[i];
    if (c === delimiter) {
      i++;
      continue;
    }
    // Line break ends the record: CRLF, LF or a lone CR.
    i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    line++;
    endRecord();
    recLine = line;
    if (i >= n) return records;
  }
}
