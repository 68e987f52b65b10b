import { StudioError } from '../engine/errors';
import { ShadowErrorCode } from './errors';

/**
 * Byte-exact `json.dumps(value, indent=2, sort_keys=True)` of CPython (ensure_ascii on, allow_nan on),
 * for the files the reference package writes. JSON in JS has one number type; Python has two, and they
 * print differently (1 vs 1.0), so floats are marked with `pyFloat`.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}
export const pyFloat = (value: number): PyFloat => new PyFloat(value);

/** A plain number is a Python int; wrap floats in PyFloat. */
export type PyJson = null | boolean | string | number | PyFloat | PyJson[] | { [key: string]: PyJson };

export function pythonJsonDumps(value: PyJson, indent = 2): string {
  return encode(value, 0, ' '.repeat(indent));
}

function encode(v: PyJson, level: number, pad: string): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return pyString(v);
  if (typeof v === 'number') return pyInt(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  const inner = pad.repeat(level + 1);
  const close = '\n' + pad.repeat(level);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return '[\n' + v.map((x) => inner + encode(x, level + 1, pad)).join(',\n') + close + ']';
  }
  const keys = Object.keys(v).sort(compareCodePoints);
  if (keys.length === 0) return '{}';
  return '{\n' + keys.map((k) => `${inner}${pyString(k)}: ${encode(v[k]!, level + 1, pad)}`).join(',\n') + close + '}';
}

function pyInt(x: number): string {
  if (!Number.isInteger(x)) {
    throw new StudioError(ShadowErrorCode.fieldType, `cannot write ${x} as a Python int: it is not a whole number`, 'wrap float values in pyFloat()');
  }
  return BigInt(x).toString(); // Python ints never switch to exponent notation (1e21 → 1000…0)
}

/**
 * repr(float) of CPython: the shortest digits that round-trip (same digits as JS), but fixed notation
 * only while the decimal exponent is in [-4, 16), with ".0" on whole numbers, and exponents of at least
 * two digits ("1e-05", "1e+16"). json.dumps writes NaN/Infinity/-Infinity as bare tokens.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  // Shortest round-trip digits from JS, e.g. "1.5e-7" or "0.00012" or "123.4".
  const [mant = '', exp = '0'] = String(Math.abs(x)).split('e');
  const [intPart = '', fracPart = ''] = mant.split('.');
  let digits = intPart + fracPart;
  let point = intPart.length + Number(exp); // decimal point position after `point` digits
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '') || '0';
  // CPython float_repr_style 'short', mode 'r': exponent form when point <= -4 or point > 16.
  if (point <= -4 || point > 16) {
    const e = point - 1;
    const m = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A JSON string literal with ensure_ascii: everything outside printable ASCII as \uXXXX (lowercase hex). */
export function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i); // UTF-16 units: astral characters come out as surrogate pairs, as in Python
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** Python sorts str keys by code point; JS's default sort compares UTF-16 units (differs above U+FFFF). */
function compareCodePoints(a: string, b: string): number {
  const A = Array.from(a, (ch) => ch.codePointAt(0)!);
  const B = Array.from(b, (ch) => ch.codePointAt(0)!);
  for (let i = 0; i < Math.min(A.length, B.length); i++) if (A[i] !== B[i]) return A[i]! - B[i]!;
  return A.length - B.length;
}
