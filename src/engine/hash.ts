/**
 * FNV-1a 64: a small, synchronous, non-cryptographic hash, identical in Node and browsers (no
 * crypto.subtle, which needs a secure context and is async). It identifies data (a dataset, a
 * tokenizer's files); it does not authenticate them.
 */
/** FNV-1a 64 state as four 16-bit limbs, least significant first (exact with 32-bit integer maths). */
export class Fnv1a64 {
  private h0 = 0x2325;
  private h1 = 0x8422;
  private h2 = 0x9ce4;
  private h3 = 0xcbf2; // offset basis 0xcbf29ce484222325

  update(bytes: Uint8Array): this {
    let { h0, h1, h2, h3 } = this;
    for (let i = 0; i < bytes.length; i++) {
      h0 ^= bytes[i]!;
      // h *= 0x100000001b3 (= 2^40 + 0x1b3) mod 2^64; limb products stay below 2^26, sums exact in doubles.
      const t0 = h0 * 0x1b3;
      const t1 = h1 * 0x1b3 + (t0 >>> 16);
      const t2 = h2 * 0x1b3 + h0 * 0x100 + (t1 >>> 16);
      const t3 = h3 * 0x1b3 + h1 * 0x100 + (t2 >>> 16);
      h0 = t0 & 0xffff;
      h1 = t1 & 0xffff;
      h2 = t2 & 0xffff;
      h3 = t3 & 0xffff;
    }
    this.h0 = h0;
    this.h1 = h1;
    this.h2 = h2;
    this.h3 = h3;
    return this;
  }

  /** Encodes a string as UTF-8 in slices (bounded memory for large files) and hashes it. */
  updateString(text: string, sliceChars = 1 << 20): this {
    const encoder = new TextEncoder();
    for (let start = 0; start < text.length; ) {
      let end = Math.min(start + sliceChars, text.length);
      // Do not split a surrogate pair: TextEncoder would encode each half as U+FFFD.
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end += end - 1 > start ? -1 : 1;
      this.update(encoder.encode(text.slice(start, end)));
      start = end;
    }
    return this;
  }

  /** 16 lowercase hex digits. */
  hex(): string {
    return [this.h3, this.h2, this.h1, this.h0].map((h) => h.toString(16).padStart(4, '0')).join('');
  }
}
