import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import type { ModelSource } from './source';
import { urlSource } from './urlSource';

const HUB = 'https://huggingface.co';
const CACHE_NAME = 'shadowpeft-hub-v1';

/**
 * A Hub repository at a revision. Files are kept in the browser's Cache Storage (persistent across
 * reloads), so a model downloads once; where Cache Storage is absent (Node) it simply fetches.
 */
export function hubSource(repo: string, revision = 'main', fetchImpl: typeof fetch = (input, init) => fetch(input, init)): ModelSource {
  checkHubName(repo, revision);
  // The root every file must stay under: the repo at its revision (a '/' in a revision is encoded).
  const base = `${HUB}/${repo}/resolve/${encodeURIComponent(revision)}/`;
  const caches = (globalThis as { caches?: CacheStorage }).caches;
  const cachedFetch: typeof fetch = async (input, init) => {
    if (!caches) return fetchImpl(input, init);
    const cache = await caches.open(CACHE_NAME);
    const hit = await cache.match(input);
    if (hit) return hit;
    const res = await fetchImpl(input, init);
    if (res.ok) {
      // Store a clone; a full quota only loses the cache, never the download.
      await cache.put(input, res.clone()).catch(() => undefined);
    }
    return res;
  };
  return urlSource(base, repo, revision, cachedFetch);
}

/** A repo id is `owner/name` of word characters, dots and dashes (no '.' or '..' part); a revision is not '.' or '..'. */
function checkHubName(repo: string, revision: string): void {
  const parts = repo.split('/');
  const badPart = (p: string) => !/^[\w.-]+$/.test(p) || p === '.' || p === '..';
  if (parts.length !== 2 || parts.some(badPart)) {
    throw new StudioError(ModelErrorCode.unsafePath, `${JSON.stringify(repo)} is not a Hub repo id`, 'a repo id is owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct');
  }
  if (revision === '' || revision === '.' || revision === '..' || revision.length > 256) {
    throw new StudioError(ModelErrorCode.unsafePath, `${repo}: ${JSON.stringify(revision)} is not a revision`, 'give a branch, tag or commit, e.g. main');
  }
}
