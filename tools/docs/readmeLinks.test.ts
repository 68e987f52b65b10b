/**
 * The README and docs/ are read in a clone of this repository: every relative link must point at a
 * file inside it that exists (and at a heading that exists, when it names one). Links to the web are
 * left alone; code blocks and inline code are not links.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname ?? '.', '../..');

/** The documents a reader of a clone starts from. */
function documents(): string[] {
  const docs = existsSync(join(ROOT, 'docs')) ? readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [];
  return ['README.md', ...docs.sort()];
}

/** Markdown without fenced code blocks and inline code spans (their text is not a link). */
function withoutCode(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/(`+)[\s\S]*?\1/g, '');
}

/** Every link target: inline links and images, reference definitions, HTML href/src. */
function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown);
  const out: string[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g)) out.push(m[1]!);
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)) out.push(m[1]!);
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = headingSlug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

/** What is wrong with one link of `file` (a path relative to `root`), or null when it is fine. */
function linkProblem(root: string, file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto:, …: not a file of ours
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  if (pathPart.startsWith('/')) return `${target}: an absolute path; use a path relative to ${file}`;
  const path = decodeURIComponent(pathPart);
  const resolved = path === '' ? resolve(root, file) : resolve(root, dirname(file), path);
  const inside = relative(root, resolved);
  if (inside.startsWith('..') || isAbsolute(inside)) return `${target}: leaves the repository (resolves to ${resolved})`;
  if (!existsSync(resolved)) return `${target}: ${inside} does not exist`;
  if (anchor && statSync(resolved).isFile() && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
    return `${target}: ${inside} has no heading with the anchor #${anchor}`;
  }
  return null;
}

describe('links in README.md and docs/', () => {
  it('the documents exist (README.md, docs/shadowpeft.md, docs/conventions.md)', () => {
    expect(documents()).toEqual(expect.arrayContaining(['README.md', 'docs/shadowpeft.md', 'docs/conventions.md']));
  });

  it.each(documents())('%s: every relative link stays in the repository and its target exists', (file) => {
    const targets = linkTargets(readFileSync(join(ROOT, file), 'utf8'));
    const problems = targets.map((t) => linkProblem(ROOT, file, t)).filter((p) => p !== null);
    expect(problems).toEqual([]);
  });

  it('README.md links to the specification and the conventions', () => {
    const targets = linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(targets).toEqual(expect.arrayContaining(['docs/shadowpeft.md', 'docs/conventions.md']));
  });
});

describe('the link checker itself', () => {
  const md = [
    'See [the spec](../shared/SHADOWPEFT.md), [gone](docs/missing.md), [web](https://example.org/x),',
    '[ok](docs/shadowpeft.md#8-adapter-files), [bad anchor](docs/shadowpeft.md#no-such-heading), [abs](/work/x.md).',
    '`[not a link](../outside.md)`',
    '```',
    '[also not](../outside.md)',
    '```',
    '[ref]: ../up/there.md',
    '<a href="../html.md">x</a>',
  ].join('\n');

  it('finds inline, reference and HTML links, and skips code', () => {
    expect(linkTargets(md)).toEqual(['../shared/SHADOWPEFT.md', 'docs/missing.md', 'https://example.org/x', 'docs/shadowpeft.md#8-adapter-files', 'docs/shadowpeft.md#no-such-heading', '/work/x.md', '../up/there.md', '../html.md']);
  });

  it('flags links that leave the repository, missing files, missing anchors and absolute paths', () => {
    const problem = (t: string) => linkProblem(ROOT, 'README.md', t);
    expect(problem('../shared/SHADOWPEFT.md')).toMatch(/leaves the repository/);
    expect(problem('docs/../../x.md')).toMatch(/leaves the repository/);
    expect(problem('docs/missing.md')).toMatch(/does not exist/);
    expect(problem('docs/shadowpeft.md#no-such-heading')).toMatch(/no heading/);
    expect(problem('/work/x.md')).toMatch(/absolute path/);
    expect(problem('https://example.org/x')).toBeNull();
    expect(problem('docs/shadowpeft.md#8-adapter-files')).toBeNull();
    expect(linkProblem(ROOT, 'docs/conventions.md', 'shadowpeft.md')).toBeNull();
  });

  it('makes GitHub heading anchors', () => {
    expect(headingSlug('6. Explicit shadow and width projection')).toBe('6-explicit-shadow-and-width-projection');
    expect(headingSlug('`shadow_config.json`')).toBe('shadow_configjson');
  });
});
