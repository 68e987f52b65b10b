import type { ModelSource } from './source';
import { localFolderId } from './source';
import { safePath } from './safePath';

/**
 * A folder the user picked (directory picker or drag-and-drop): a list of File objects with their
 * paths relative to the folder. File objects can be posted to the worker as they are. Its id is
 * `local folder <name>` (not the bare name, which could pass for a Hub repo or a path).
 */
export function filesSource(name: string, files: readonly { path: string; file: Blob }[]): ModelSource {
  // Accept both "config.json" and "<folder>/config.json" as the file's path.
  const byPath = new Map<string, Blob>();
  for (const f of files) {
    const parts = f.path.split('/').filter(Boolean);
    byPath.set(parts.join('/'), f.file);
    if (parts.length > 1) byPath.set(parts.slice(1).join('/'), f.file);
  }
  return {
    id: localFolderId(name),
    revision: null,
    baseUrl: null,
    async readBytes(path, onProgress) {
      const file = byPath.get(safePath(path, { source: localFolderId(name) }));
      if (!file) return null;
      const bytes = new Uint8Array(await file.arrayBuffer());
      onProgress?.({ file: path, loaded: bytes.byteLength, total: bytes.byteLength });
      return bytes;
    },
  };
}
