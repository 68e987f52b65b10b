import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv';

const rows = (text: string, delimiter: ',' | '\t' = ',') => parseCsv(text, delimiter).map((r) => r.fields);

describe('parseCsv (RFC 4180)', () => {
  it('plain fields, empty fields, no trailing newline', () => {
    expect(rows('a,b,c\n1,,3\n,,')).toEqual([
      ['a', 'b', 'c'],
      ['1', '', '3'],
      ['', '', ''],
    ]);
  });

  it('quoted fields hold delimiters, doubled quotes and line breaks as written', () => {
    const text = 'h1,h2\r\n"a,b","say ""hi"""\r\n"multi\nline\r\nfield",x\r\n"""",""\r\n';
    expect(rows(text)).toEqual([
      ['h1', 'h2'],
      ['a,b', 'say "hi"'],
      ['multi\nline\r\nfield', 'x'],
      ['"', ''],
    ]);
  });

  it('records report the line they start on, counting line breaks inside quotes', () => {
    const text = 'h\n"one\ntwo\nthree"\nnext\r\n"a\r\nb"\rlast';
    expect(parseCsv(text, ',').map((r) => [r.line, r.fields[0]])).toEqual([
      [1, 'h'],
      [2, 'one\ntwo\nthree'],
      [5, 'next'],
      [6, 'a\r\nb'],
      [8, 'last'],
    ]);
  });

  it('CRLF, lone CR and blank lines (skipped, but counted)', () => {
    expect(parseCsv('a\r\n\r\nb\r\rc\n\n\n', ',').map((r) => [r.line, r.fields])).toEqual([
      [1, ['a']],
      [3, ['b']],
      [5, ['c']],
    ]);
  });

  it('a quoted empty field is a record, not a blank line', () => {
    expect(rows('""\n')).toEqual([['']]);
  });

  it('a bare quote inside an unquoted field is literal (common in TSV)', () => {
    expect(rows('He said "hi"\tok\n5" screen\tx', '\t')).toEqual([
      ['He said "hi"', 'ok'],
      ['5" screen', 'x'],
    ]);
  });

  it('tabs quote like commas', () => {
    expect(rows('"a\tb"\t"c""d"\n', '\t')).toEqual([['a\tb', 'c"d']]);
  });

  it('text after a closing quote is an error of that record only', () => {
    const recs = parseCsv('"a"b,c\nd,e\n', ',');
    expect(recs[0]).toEqual({ line: 1, fields: ['ab', 'c'], error: "unexpected text after the closing quote in column 1: 'b'" });
    expect(recs[1]).toEqual({ line: 2, fields: ['d', 'e'] });
  });

  it('an unclosed quote swallows the rest and is reported at its record', () => {
    const recs = parseCsv('x,y\n1,"open\n2,3\n', ',');
    expect(recs).toHaveLength(2);
    expect(recs[1]!.line).toBe(2);
    expect(recs[1]!.error).toBe('unterminated quoted field in column 2 (the quote is never closed)');
  });

  it('empty input and a large quoted field', () => {
    expect(parseCsv('', ',')).toEqual([]);
    const big = 'q"'.repeat(100_000) + 'x'.repeat(1_000_000);
    const recs = parseCsv(`"${big.replace(/"/g, '""')}",z\n`, ',');
    expect(recs).toEqual([{ line: 1, fields: [big, 'z'] }]);
  });
});
