import { StudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import type { ByteProgress, ModelSource } from './source';
import { urlInside } from './safePath';

/** Streams a response body into one buffer, reporting bytes as they arrive. */
export async function readResponse(res: Response, file: string, onProgress?: (p: ByteProgress) => void): Promise<Uint8Array> {
  const header = res.headers.get('content-length');
  const total = header ? Number(header) : null;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  let out = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > out.byteLength) {
      const grown = new Uint8Array(Math.max(out.byteLength * 2, loaded + value.byteLength));
      grown.set(out.subarray(0, loaded));
      out = grown;
    }
    out.set(value, loaded);
    loaded += value.byteLength;
    onProgress?.({ file, loaded, total });
  }
  return loaded === out.byteLength ? out : out.subarray(0, loaded);
}

/**
 * Any HTTP(S) base URL that serves the Hub layout: a local static server in the tests, the bundled
 * model under /models/, or the Hub's resolve URLs (see hubSource).
 */
export function urlSource(baseUrl: string, id = baseUrl, revision: string | null = null, fetchImpl: typeof fetch = fetch): ModelSource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  let parsed: URL | null = null;
  try {
    parsed = new URL(base);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new StudioError(ModelErrorCode.fetchFailed, `${JSON.stringify(baseUrl)} is not an http(s) URL`, 'give a base URL like https://example.org/models/qwen3/ that serves config.json and the weights');
  }
  return {
    id,
    revision,
    baseUrl: base,
    async readBytes(path, onProgress) {
      // Only files under the base URL's path, on its origin (see safePath.ts).
      const url = urlInside(base, path, { source: id }).toString();
      let res: Response;
      try {
        res = await fetchImpl(url);
      } catch (e) {
        throw new StudioError(ModelErrorCode.fetchFailed, `could not fetch ${path} from ${base}: ${String(e)}`, 'check the network connection and the URL');
      }
      if (res.status === 404) return null;
      // Static hosts with a single-page fallback answer a missing file with their index.html.
      if (res.ok && /text\/html/i.test(res.headers.get('content-type') ?? '') && !/\.html?$/i.test(path)) return null;
      if (!res.ok) throw new StudioError(ModelErrorCode.fetchFailed, `fetching ${path} from ${base} failed with HTTP ${res.status}`, res.status === 401 || res.status === 403 ? 'the repository may be gated or private: accept its licence on the Hub or pick another model' : 'try again later');
      return readResponse(res, path, onProgress);
    },
  };
}
