import { describe, expect, it } from 'vitest';
import { canonicalJson, datasetFingerprint, Fnv1a64 } from './fingerprint';

const fnv = (s: string) => new Fnv1a64().updateString(s).hex();

/** Independent reference: FNV-1a 64 with BigInt over TextEncoder bytes. */
function fnvBigInt(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(s)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

describe('FNV-1a 64', () => {
  it('matches the published test vectors', () => {
    // From the FNV reference test suite (and Python's int arithmetic): "", "a", "foobar".
    expect(fnv('')).toBe('cbf29ce484222325');
    expect(fnv('a')).toBe('af63dc4c8601ec8c');
    expect(fnv('foobar')).toBe('85944171f73967e8');
    expect(fnv('héllo 🦩')).toBe('7f4f0ccbd1b39c98'); // UTF-8 bytes, computed with Python
  });

  it('agrees with a BigInt implementation on varied text, and slicing does not change it', () => {
    const texts = ['\u0000\uffff', 'line1\r\nline2', '日本語🦩'.repeat(50), 'x'.repeat(3001)];
    for (const t of texts) {
      expect(fnv(t)).toBe(fnvBigInt(t));
      // slices of 1 and 7 code units: surrogate pairs must not be split
      expect(new Fnv1a64().updateString(t, 1).hex()).toBe(fnvBigInt(t));
      expect(new Fnv1a64().updateString(t, 7).hex()).toBe(fnvBigInt(t));
    }
  });
});

describe('dataset fingerprint', () => {
  const text = '{"prompt":"a","completion":"b"}\n';

  it('is stable, and changes with the text or any option', () => {
    const base = datasetFingerprint(text, { maxLength: 512, template: 'auto' });
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(datasetFingerprint(text, { template: 'auto', maxLength: 512, unused: undefined })).toBe(base); // key order, undefined
    expect(datasetFingerprint(text + ' ', { maxLength: 512, template: 'auto' })).not.toBe(base);
    expect(datasetFingerprint(text, { maxLength: 256, template: 'auto' })).not.toBe(base);
    expect(datasetFingerprint(text, { maxLength: 512, template: 'plain' })).not.toBe(base);
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});
