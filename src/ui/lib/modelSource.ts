/** The model choices of the Model screen and the parsing of the "any repo id or URL" box. */
import type { ModelSourceSpec } from '../../../workers/api';

export interface ModelChoice {
  /** stable key: "bundled:<name>", "hub:<repo>", "url:<url>", "files:<name>" */
  key: string;
  label: string;
  source: ModelSourceSpec;
}

export const CURATED_MODELS: readonly { repo: string; note: string }[] = [
  { repo: 'HuggingFaceTB/SmolLM2-135M-Instruct', note: 'smallest; quick to train on a laptop GPU' },
  { repo: 'HuggingFaceTB/SmolLM2-360M-Instruct', note: 'small Llama-style chat model' },
  { repo: 'Qwen/Qwen2.5-0.5B-Instruct', note: 'Qwen2 chat model' },
  { repo: 'Qwen/Qwen3-0.6B', note: 'the authors’ base for the GSM8K recipe' },
];

export function hubChoice(repo: string, revision?: string): ModelChoice {
  const source: ModelSourceSpec = revision ? { kind: 'hub', repo, revision } : { kind: 'hub', repo };
  return { key: `hub:${repo}${revision ? `@${revision}` : ''}`, label: repo + (revision ? ` @ ${revision}` : ''), source };
}

/** A Hub repo id, owner/name. */
export const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/**
 * "owner/name", "owner/name@revision", "https://huggingface.co/owner/name", an http(s) URL or a
 * path on this site ("/models/tiny/"). Returns a sentence with the fix when it is none of these.
 */
export function parseModelInput(text: string, origin: string): ModelChoice | { error: string } {
  const t = text.trim();
  if (!t) return { error: 'Type a Hub repo id such as Qwen/Qwen3-0.6B, or the URL of a folder with config.json.' };
  const hub = /^https?:\/\/huggingface\.co\/([^/?#]+\/[^/?#]+)(?:\/tree\/([^/?#]+))?\/?$/.exec(t);
  if (hub) return hubChoice(hub[1]!, hub[2]);
  if (/^https?:\/\//i.test(t) || t.startsWith('/') || t.startsWith('./')) {
    let url: URL;
    try {
      url = new URL(t, origin);
    } catch {
      return { error: `“${t}” is not a valid URL. Use a full address such as https://example.org/models/my-model/.` };
    }
    const href = url.href.endsWith('/') ? url.href : `${url.href}/`;
    return { key: `url:${href}`, label: href, source: { kind: 'url', url: href } };
  }
  const [repo, revision, ...rest] = t.split('@');
  if (rest.length === 0 && repo && REPO_ID.test(repo)) return hubChoice(repo, revision || undefined);
  return { error: `“${t}” is neither a Hub repo id (owner/name) nor a URL. Check the spelling, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.` };
}

/** How a model source is named for a reader (parseModelInput reads it back): repo id[@revision], the URL, or the folder's name. */
export function sourceName(spec: ModelSourceSpec): string {
  if (spec.kind === 'hub') return spec.revision ? `${spec.repo}@${spec.revision}` : spec.repo;
  if (spec.kind === 'url') return spec.label ?? spec.url;
  return spec.name;
}
