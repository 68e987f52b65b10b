/**
 * A folder on disk in the Hub layout — Node only (the CLI and the tests; the browser's picked folders
 * are filesSource). Every path is checked by safePath before it is joined to the root, and the joined
 * path is checked to stay under the root; anything that is not a readable file is a coded error.
 * Symbolic links are followed (the Hugging Face cache links snapshot files to ../../blobs).
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import type { ModelSource } from './source';
import { safePath } from './safePath';

export interface DirSourceOptions {
  /** The source's id (default: the folder as given). */
  id?: string;
  /** Called with the absolute path of every file opened (tests check containment and count bytes). */
  onOpen?: (absolutePath: string, bytes: number) => void;
}

/** The absolute path of `path` under `root`, or a coded error (E125) when it would leave it. */
export function pathInside(root: string, path: string, where: { source: string; entry?: string }): string {
  const p = resolve(root, safePath(path, where));
  const rel = relative(root, p);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new StudioError(ModelErrorCode.unsafePath, `${where.source}: ${JSON.stringify(path)} resolves to ${p}, outside ${root}`, 'a model may only name files beside it');
  }
  return p;
}

export function dirSource(dir: string, opts: DirSourceOptions = {}): ModelSource {
  const root = resolve(dir);
  const id = opts.id ?? dir;
  return {
    id,
    revision: null,
    baseUrl: null,
    async readBytes(path, onProgress) {
      const p = pathInside(root, path, { source: id });
      const b = readFile(id, path, p);
      if (b === null) return null;
      opts.onOpen?.(p, b.byteLength);
      onProgress?.({ file: path, loaded: b.byteLength, total: b.byteLength });
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
  };
}

/** The file's bytes; null when nothing is there; a coded error when it is there but not a readable file. */
function readFile(id: string, path: string, p: string): Buffer | null {
  let isFile: boolean;
  try {
    isFile = statSync(p).isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw unreadable(id, path, e);
  }
  if (!isFile) throw new StudioError(ModelErrorCode.unreadableFile, `${id}: ${path} is a directory (or another non-file), not a file`, `replace ${path} with the file the Hub serves under that name`);
  try {
    return readFileSync(p);
  } catch (e) {
    throw unreadable(id, path, e);
  }
}

function unreadable(id: string, path: string, e: unknown): StudioError {
  const err = e as NodeJS.ErrnoException;
  return new StudioError(ModelErrorCode.unreadableFile, `${id}: ${path} cannot be read (${err.code ?? 'error'}: ${err.message})`, 'check the file\'s permissions and that the disk is readable');
}
