/**
 * Stable dataset fingerprint: FNV-1a 64 over the UTF-8 bytes of a version tag, the options as
 * canonical JSON (keys sorted, undefined dropped) and the raw file text. Synchronous and pure (no
 * crypto.subtle, which needs a secure context and is async), identical in Node and browsers.
 * Not a cryptographic hash: it identifies a dataset in checkpoints, it does not authenticate it.
 */

import { Fnv1a64 } from '../../engine/hash';

const VERSION_TAG = 'shadowpeft-data/v1';

export { Fnv1a64 };

/** JSON with object keys sorted at every level and undefined members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Fingerprint of a dataset: raw text plus every option that changes the examples produced from it. */
export function datasetFingerprint(rawText: string, options: unknown): string {
  return new Fnv1a64().updateString(`${VERSION_TAG}\u0000${canonicalJson(options)}\u0000`).updateString(rawText).hex();
}
