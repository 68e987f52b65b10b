/**
 * A model folder the user opened (a directory picker or a dropped folder) as the worker's
 * {kind: 'files'} source: paths relative to the folder, e.g. "config.json", "onnx/model.onnx".
 */
import type { ModelSourceSpec } from '../../../workers/api';

export interface PathedFile {
  path: string;
  file: Blob;
}

/** From <input webkitdirectory>: webkitRelativePath is "<folder>/<path>"; the folder names the model. */
export function filesFromDirectoryInput(files: ArrayLike<File>): Extract<ModelSourceSpec, { kind: 'files' }> {
  const list = Array.from(files);
  const rel = list.map((f) => (f.webkitRelativePath || f.name).replace(/\\/g, '/'));
  const first = rel[0]?.split('/') ?? [];
  const root = first.length > 1 ? first[0]! : '';
  const sameRoot = root !== '' && rel.every((p) => p.startsWith(`${root}/`));
  return {
    kind: 'files',
    name: root || 'local model',
    files: list.map((file, i) => ({ path: sameRoot ? rel[i]!.slice(root.length + 1) : rel[i]!, file })),
  };
}

/** Hidden files and OS litter that never belong to a model. */
export function isModelFile(path: string): boolean {
  return !path.split('/').some((part) => part.startsWith('.') || part === '__MACOSX' || part === 'Thumbs.db');
}

// -- drag and drop: the File and Directory Entries API (webkitGetAsEntry)

function readAllEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const out: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(out);
        else {
          out.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: PathedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: prefix + entry.name, file });
  } else if (entry.isDirectory) {
    for (const child of await readAllEntries(entry as FileSystemDirectoryEntry)) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

/**
 * A dropped folder (or loose files) as a files source. One dropped directory is the model folder:
 * paths are relative to it.
 */
export async function filesFromDrop(items: DataTransferItemList): Promise<Extract<ModelSourceSpec, { kind: 'files' }> | null> {
  const entries = Array.from(items)
    .map((it) => (it.kind === 'file' ? it.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return null;
  if (entries.length === 1 && entries[0]!.isDirectory) {
    const dir = entries[0]!;
    const out: PathedFile[] = [];
    for (const child of await readAllEntries(dir as FileSystemDirectoryEntry)) await walk(child, '', out);
    return { kind: 'files', name: dir.name, files: out.filter((f) => isModelFile(f.path)) };
  }
  const out: PathedFile[] = [];
  for (const e of entries) await walk(e, '', out);
  return { kind: 'files', name: 'dropped files', files: out.filter((f) => isModelFile(f.path)) };
}
