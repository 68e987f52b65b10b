/**
 * The downloadable adapter folder as a .zip (fflate), and reading one back for import. The names
 * are those the Python package writes and reads (docs/shadowpeft.md §8).
 */
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { AdapterFilesPayload, WorkerErrorInfo } from '../../../workers/api';

export const CONFIG_FILE = 'shadow_config.json';
export const WEIGHTS_FILE = 'shadow_adapter.safetensors';
export const CARD_FILE = 'README.md';
export const HISTORY_FILE = 'loss_history.csv';

export interface AdapterZipParts {
  configJson: string;
  safetensors: ArrayBuffer | Uint8Array;
  readme: string;
  lossCsv: string;
}

export function buildAdapterZip(p: AdapterZipParts, mtime = new Date()): Uint8Array {
  const weights = p.safetensors instanceof Uint8Array ? p.safetensors : new Uint8Array(p.safetensors);
  return zipSync(
    {
      [CONFIG_FILE]: [strToU8(p.configJson), { mtime }],
      // already dense floats: storing them avoids seconds of deflate for a few percent
      [WEIGHTS_FILE]: [weights, { level: 0, mtime }],
      [CARD_FILE]: [strToU8(p.readme), { mtime }],
      [HISTORY_FILE]: [strToU8(p.lossCsv), { mtime }],
    },
    { level: 6 },
  );
}

/** An uploaded file as bytes (File.arrayBuffer() in the browser). */
export interface UploadedFile {
  name: string;
  bytes: Uint8Array;
}

export class AdapterImportError extends Error implements WorkerErrorInfo {
  readonly code: string;
  readonly hint: string;
  constructor(code: string, message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

const baseName = (path: string) => path.split(/[\\/]/).pop() ?? path;
const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/**
 * The two adapter files from what the user picked: one .zip (our download, or the folder the
 * Python package saved, zipped), or shadow_config.json and a .safetensors file side by side.
 * Other files (README.md, loss_history.csv, shadow_modules.safetensors) are ignored.
 */
export function readAdapterUpload(files: readonly UploadedFile[]): AdapterFilesPayload {
  const all: UploadedFile[] = [];
  for (const f of files) {
    if (isZip(f.bytes) || /\.zip$/i.test(f.name)) {
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(f.bytes);
      } catch (e) {
        throw new AdapterImportError('E801', `${f.name} is not a readable .zip (${e instanceof Error ? e.message : String(e)})`, 'download the adapter again, or pick shadow_config.json and shadow_adapter.safetensors directly');
      }
      for (const [path, bytes] of Object.entries(entries)) if (!path.endsWith('/') && !path.startsWith('__MACOSX/')) all.push({ name: path, bytes });
    } else {
      all.push(f);
    }
  }
  const config = all.find((f) => baseName(f.name) === CONFIG_FILE);
  const weights = all.find((f) => baseName(f.name) === WEIGHTS_FILE) ?? all.find((f) => /\.safetensors$/i.test(f.name) && baseName(f.name) !== 'shadow_modules.safetensors');
  const names = all.map((f) => baseName(f.name)).join(', ') || 'nothing';
  if (!config) throw new AdapterImportError('E802', `no ${CONFIG_FILE} among the files (found: ${names})`, `pick the .zip the studio downloaded, or select ${CONFIG_FILE} together with ${WEIGHTS_FILE}`);
  if (!weights) throw new AdapterImportError('E803', `no ${WEIGHTS_FILE} among the files (found: ${names})`, `select ${WEIGHTS_FILE} together with ${CONFIG_FILE}`);
  const configJson = strFromU8(config.bytes);
  try {
    JSON.parse(configJson);
  } catch (e) {
    throw new AdapterImportError('E804', `${CONFIG_FILE} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, 'use the file exactly as the studio or the shadow-peft package wrote it');
  }
  // a standalone copy: the worker receives it as a transferable
  const safetensors = weights.bytes.slice().buffer as ArrayBuffer;
  return { configJson, safetensors };
}

/** The tensor names and header of a safetensors file (8-byte little-endian header length, then JSON). */
export function safetensorsHeader(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length < 8) throw new Error('file shorter than the 8-byte safetensors header length');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.length - 8) throw new Error(`header length ${n} exceeds the file`);
  return JSON.parse(strFromU8(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
}
