import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';

/**
 * Where a model's files come from. Every source serves the Hugging Face repository layout
 * (config.json, model.safetensors or shards + model.safetensors.index.json, tokenizer.json, …), so the
 * loader does not care whether it is the Hub, a static server or a folder the user picked.
 */
export interface ByteProgress {
  file: string;
  loaded: number;
  /** null when the server did not say */
  total: number | null;
}

export interface ModelSource {
  /** What the user would call it: a repo id, a URL or a folder name. Recorded in adapters. */
  readonly id: string;
  readonly revision: string | null;
  /**
   * Resolves to null when the file does not exist (404 or missing from the folder). A path that would
   * leave the source's root is refused with E125 (sources/safePath.ts), before any read.
   */
  readBytes(path: string, onProgress?: (p: ByteProgress) => void): Promise<Uint8Array | null>;
  /** For tokenizers: a URL-like base that transformers.js can read the same files from, when one exists. */
  readonly baseUrl: string | null;
}

export async function readText(source: ModelSource, path: string): Promise<string | null> {
  const bytes = await source.readBytes(path);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

/** The file parsed as JSON; null when it does not exist; a coded error (E112) naming it when it is not JSON. */
export async function readJson(source: ModelSource, path: string): Promise<unknown | null> {
  const text = await readText(source, path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StudioError(ModelErrorCode.badConfig, `${source.id}: ${path} is not valid JSON (${(e as Error).message})`, 'the file is damaged or not the one the Hub serves; download it again');
  }
}

/** Like readJson, but the file must hold a JSON object (E112 naming the file otherwise). */
export async function readJsonObject(source: ModelSource, path: string): Promise<Record<string, unknown> | null> {
  const text = await readText(source, path);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (e) {
    throw new StudioError(ModelErrorCode.badConfig, `${source.id}: ${path} is not valid JSON (${(e as Error).message})`, 'the file is damaged or not the one the Hub serves; download it again');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new StudioError(ModelErrorCode.badConfig, `${source.id}: ${path} must hold a JSON object, found ${json === null ? 'null' : Array.isArray(json) ? 'a list' : typeof json}`, 'the file is damaged or not the one the Hub serves; download it again');
  }
  return json as Record<string, unknown>;
}

/**
 * How a model folder that is not a Hub repository is named where the name leaves the studio (the
 * adapter's `base_model` metadata, checkpoints, model cards): `local folder <name>`. A Hub model is
 * named by its repo id instead, so that Python can load it; a folder has to be passed by its path.
 */
export const LOCAL_FOLDER_PREFIX = 'local folder ';

export function localFolderId(name: string): string {
  return `${LOCAL_FOLDER_PREFIX}${name}`;
}

/** The folder name of a `local folder <name>` id, else null. */
export function localFolderName(id: string): string | null {
  return id.startsWith(LOCAL_FOLDER_PREFIX) && id.length > LOCAL_FOLDER_PREFIX.length ? id.slice(LOCAL_FOLDER_PREFIX.length) : null;
}
