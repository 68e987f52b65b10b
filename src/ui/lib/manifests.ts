/**
 * The app's bundled assets: /models/index.json (models served as /models/<name>/ in the Hub layout)
 * and /datasets/index.json (demo datasets). Both are optional; a missing index means "none bundled".
 */
import type { DatasetFormat } from '../../train/data/types';

export interface BundledModel {
  name: string;
  title: string;
  description: string;
  /** absolute URL of the folder, ending in '/' */
  url: string;
  isDefault: boolean;
}

export interface DemoDataset {
  file: string;
  title: string;
  description: string;
  format: DatasetFormat | string;
  /** absolute URL of the file */
  url: string;
}

type Json = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/**
 * Accepts the shapes an index may reasonably take: ["name", …], [{name|id|path|dir, title?,
 * description?, default?}, …], or {models: [...], default?: "name"}.
 */
export function parseModelIndex(raw: unknown, origin: string): BundledModel[] {
  let list: unknown = raw;
  let defaultName: string | null = null;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Json;
    list = o.models ?? o.items ?? [];
    defaultName = str(o.default);
  }
  if (!Array.isArray(list)) return [];
  const models: BundledModel[] = [];
  for (const item of list) {
    const o: Json = typeof item === 'string' ? { name: item } : item && typeof item === 'object' ? (item as Json) : {};
    const name = str(o.name) ?? str(o.id) ?? str(o.dir) ?? str(o.path);
    if (!name) continue;
    const folder = name.replace(/^\/?(models\/)?/, '').replace(/\/+$/, '');
    const url = str(o.url) ? new URL(o.url as string, origin).href : new URL(`/models/${folder}/`, origin).href;
    models.push({
      name: folder,
      title: str(o.title) ?? str(o.label) ?? folder,
      description: str(o.description) ?? '',
      url: url.endsWith('/') ? url : `${url}/`,
      isDefault: o.default === true || defaultName === folder || defaultName === name,
    });
  }
  if (models.length && !models.some((m) => m.isDefault)) models[0]!.isDefault = true;
  return models;
}

export function parseDatasetIndex(raw: unknown, origin: string): DemoDataset[] {
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' && Array.isArray((raw as Json).datasets) ? ((raw as Json).datasets as unknown[]) : [];
  const out: DemoDataset[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const o = item as Json;
    const file = str(o.file);
    if (!file) continue;
    const path = file.includes('/') ? file : `/datasets/${file}`;
    out.push({
      file: file.split('/').pop()!,
      title: str(o.title) ?? file,
      description: str(o.description) ?? '',
      format: str(o.format) ?? 'unknown',
      url: new URL(path, origin).href,
    });
  }
  return out;
}

/** Fetches a JSON index; null when it does not exist (404, or the dev server's HTML fallback). */
export async function fetchIndex(path: string): Promise<unknown | null> {
  const res = await fetch(path, { cache: 'no-cache' });
  if (!res.ok) return null;
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (type.includes('html') || /^\s*</.test(text)) return null;
  return JSON.parse(text) as unknown;
}
