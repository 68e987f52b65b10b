import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ModelSource } from '../model/sources/source';
import { urlSource } from '../model/sources/urlSource';
import { hubSource } from '../model/sources/hubSource';

/** A folder on disk in the Hub layout. */
export function dirSource(dir: string): ModelSource {
  const root = resolve(dir);
  return {
    id: basename(root),
    revision: null,
    baseUrl: null,
    async readBytes(path, onProgress) {
      const p = join(root, path);
      if (!existsSync(p)) return null;
      const b = readFileSync(p);
      onProgress?.({ file: path, loaded: b.byteLength, total: b.byteLength });
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
  };
}

/** A model argument: a folder, an http(s) base URL, or a Hub repo id (owner/name[@revision]). */
export function sourceFromArg(arg: string): ModelSource {
  if (/^https?:\/\//.test(arg)) return urlSource(arg);
  if (existsSync(arg) && statSync(arg).isDirectory()) return dirSource(arg);
  const m = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(arg);
  if (m) return hubSource(m[1]!, m[2] ?? 'main');
  throw new Error(`'${arg}' is neither a folder, an http(s) URL nor a Hub repo id like HuggingFaceTB/SmolLM2-135M-Instruct`);
}
