/**
 * Files named on the command line (a dataset, batch.json, shadow_config.json, the output): every
 * failure to read or write one is a coded error (E603) naming the flag and the path.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StudioError } from '../engine/errors';
import { formatBytes } from '../engine/runtime';
import { CliErrorCode } from './errors';

/** Sizes the CLI reads into memory at most: far above any real file, far below what would exhaust the heap. */
export const FILE_LIMITS = {
  /** a dataset (JSONL / CSV / TSV / TXT) */
  dataset: 512 * 2 ** 20,
  /** batch.json, shadow_config.json */
  json: 64 * 2 ** 20,
} as const;

export type OnOpen = (absolutePath: string, bytes: number) => void;

function fileError(what: string, path: string, problem: string, hint = `check the path given to ${what}`): StudioError {
  return new StudioError(CliErrorCode.badFile, `${what} ${path}: ${problem}`, hint);
}

/** The bytes of a user-named file, refused when missing, not a file, or above `maxBytes`. */
export function readUserBytes(what: string, path: string, maxBytes: number, onOpen?: OnOpen): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw fileError(what, path, 'is a directory (or another non-file), not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof StudioError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw fileError(what, path, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(e)})`);
  }
  if (size > maxBytes) throw fileError(what, path, `is ${formatBytes(size)}, more than the ${formatBytes(maxBytes)} the CLI reads`, 'split the file, or give a smaller one');
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw fileError(what, path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  onOpen?.(resolve(path), b.byteLength);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A user-named text file, which must be UTF-8 (a byte-order mark is kept, as readFileSync(…, 'utf8') keeps it). */
export function readUserText(what: string, path: string, maxBytes: number, onOpen?: OnOpen): string {
  const bytes = readUserBytes(what, path, maxBytes, onOpen);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw fileError(what, path, 'is not UTF-8 text', 'save the file as UTF-8');
  }
}

/** A user-named JSON file, parsed. */
export function readUserJson(what: string, path: string, onOpen?: OnOpen): unknown {
  const text = readUserText(what, path, FILE_LIMITS.json, onOpen);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw fileError(what, path, `is not valid JSON (${(e as Error).message})`, 'fix the JSON');
  }
}

/** The output folder must be a folder or not exist yet (checked before any work, so a long run does not end in EEXIST). */
export function checkOutDir(what: string, dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw fileError(what, dir, 'exists and is not a folder', 'give a new or existing folder for the adapter files');
  } catch (e) {
    if (e instanceof StudioError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(what, dir, `cannot be used (${(e as NodeJS.ErrnoException).code})`);
  }
}

/** The output file's folder must exist and the path must not be a folder. */
export function checkOutFile(what: string, path: string): void {
  try {
    if (statSync(path).isDirectory()) throw fileError(what, path, 'is a folder', 'give a file name, e.g. dump.safetensors');
  } catch (e) {
    if (e instanceof StudioError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(what, path, `cannot be used (${(e as NodeJS.ErrnoException).code})`);
  }
  try {
    if (!statSync(dirname(resolve(path))).isDirectory()) throw new Error('not a folder');
  } catch {
    throw fileError(what, path, `its folder ${dirname(resolve(path))} does not exist`, 'create the folder first');
  }
}

export function writeUserFile(what: string, path: string, data: string | Uint8Array, opts: { mkdir?: boolean } = {}): void {
  try {
    if (opts.mkdir) mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  } catch (e) {
    throw fileError(what, path, `cannot be written (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the folder exists and is writable');
  }
}
