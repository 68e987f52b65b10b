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
  /** Resolves to null when the file does not exist (404 or missing from the folder). */
  readBytes(path: string, onProgress?: (p: ByteProgress) => void): Promise<Uint8Array | null>;
  /** For tokenizers: a URL-like base that transformers.js can read the same files from, when one exists. */
  readonly baseUrl: string | null;
}

export async function readText(source: ModelSource, path: string): Promise<string | null> {
  const bytes = await source.readBytes(path);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

export async function readJson(source: ModelSource, path: string): Promise<unknown | null> {
  const text = await readText(source, path);
  return text === null ? null : (JSON.parse(text) as unknown);
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
