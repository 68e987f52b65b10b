/**
 * The one rule for file names that come from files (a shard index's weight_map, an adapter's record,
 * a caller's path): a name must stay inside its source's root — the folder, the base URL's path, or
 * the Hub repo at its revision. Every ModelSource checks each path it is asked for with `safePath`
 * before it touches the disk or the network, and the loaders that read names out of files check them
 * first so that the error names the entry (`weight_map['model.norm.weight']`).
 *
 * Refused, whatever the source: absolute paths (`/etc/passwd`, `C:\x`, `\\host\share`), any `.` or `..`
 * segment, empty segments (`a//b`), backslashes (Windows separators: `..\\x`), percent signs (the URL
 * parser reads `%2e%2e` as `..`, and a folder would not), schemes and drive letters (`:`), `?` and `#`
 * (they change what a URL names), and control characters.
 */
import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';

/** Why `path` may not be used, or null when it is a plain relative path inside the root. */
export function unsafePathReason(path: unknown): string | null {
  if (typeof path !== 'string') return `it is ${path === null ? 'null' : typeof path === 'object' ? (Array.isArray(path) ? 'a list' : 'an object') : `a ${typeof path}`}, not a file name`;
  if (path === '') return 'it is empty';
  if (path.length > 1024) return `it is ${path.length} characters long (at most 1024)`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'it holds control characters';
  if (path.includes('\\')) return 'it holds a backslash (a Windows separator, which could climb out of the folder)';
  if (path.includes('%')) return 'it holds a percent sign (percent-encoding could hide ".." from this check)';
  if (path.includes(':')) return 'it names a scheme, a host or a drive (":")';
  if (path.includes('?') || path.includes('#')) return 'it holds "?" or "#", which change what a URL names';
  if (path.startsWith('/')) return 'it is an absolute path';
  for (const segment of path.split('/')) {
    if (segment === '') return 'it has an empty path segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment, which leaves or re-enters the folder`;
  }
  return null;
}

/**
 * `path` when it is safe, else a coded error (E125) naming the source, the entry that named it (e.g.
 * `model.safetensors.index.json: weight_map['lm_head.weight']`) and the value.
 */
export function safePath(path: unknown, where: { source: string; entry?: string }): string {
  const reason = unsafePathReason(path);
  if (reason === null) return path as string;
  const named = where.entry ? `${where.entry} names` : 'asked for';
  throw new StudioError(
    ModelErrorCode.unsafePath,
    `${where.source}: ${named} ${JSON.stringify(path)}, which is not a file inside the model's own folder or repository: ${reason}`,
    'a model, index or adapter may only name files beside it (e.g. "model-00001-of-00002.safetensors"); fix or re-download the file',
  );
}

/**
 * For URL sources: `path` resolved against `base`, checked to stay on the base's origin and under its
 * path (defence in depth behind `safePath`).
 */
export function urlInside(base: string, path: string, where: { source: string; entry?: string }): URL {
  const root = new URL(base);
  const url = new URL(safePath(path, where), root);
  if (url.origin !== root.origin || !url.pathname.startsWith(root.pathname)) {
    throw new StudioError(ModelErrorCode.unsafePath, `${where.source}: ${JSON.stringify(path)} resolves to ${url.toString()}, outside ${root.toString()}`, 'a model may only name files beside it');
  }
  return url;
}
