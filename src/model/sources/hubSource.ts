import type { ModelSource } from './source';
import { urlSource } from './urlSource';

const HUB = 'https://huggingface.co';
const CACHE_NAME = 'shadowpeft-hub-v1';

/**
 * A Hub repository at a revision. Files are kept in the browser's Cache Storage (persistent across
 * reloads), so a model downloads once; where Cache Storage is absent (Node) it simply fetches.
 */
export function hubSource(repo: string, revision = 'main'): ModelSource {
  const base = `${HUB}/${repo}/resolve/${encodeURIComponent(revision)}/`;
  const caches = (globalThis as { caches?: CacheStorage }).caches;
  const cachedFetch: typeof fetch = async (input, init) => {
    if (!caches) return fetch(input, init);
    const cache = await caches.open(CACHE_NAME);
    const hit = await cache.match(input);
    if (hit) return hit;
    const res = await fetch(input, init);
    if (res.ok) {
      // Store a clone; a full quota only loses the cache, never the download.
      await cache.put(input, res.clone()).catch(() => undefined);
    }
    return res;
  };
  return urlSource(base, repo, revision, cachedFetch);
}
