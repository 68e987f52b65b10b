/**
 * Every source keeps to its root (safePath.ts): a folder (dirSource, which the CLI and the fixtures use), a picked
 * folder (filesSource), a URL (urlSource, against a local server) and the Hub (hubSource, with an
 * injected fetch). Each is asked for names that climb out in every spelling, directly and through a
 * shard index, and must refuse with E125 without reading, fetching or requesting anything outside.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStudioError } from '../../engine/errors';
import { ModelErrorCode } from '../errors';
import { checkpointFiles } from '../loadWeights';
import { dirSource as fixtureDirSource, FIXTURES_DIR } from '../testing/fixtures';
import { dirSource } from './dirSource';
import { filesSource } from './filesSource';
import { hubSource } from './hubSource';
import { unsafePathReason } from './safePath';
import type { ModelSource } from './source';
import { urlSource } from './urlSource';

/** Names that must never be read, in every spelling that could leave a root. */
const HOSTILE = [
  '../secret.txt',
  '../../../../../../etc/passwd',
  '/etc/passwd',
  'sub/../../secret.txt',
  '%2e%2e/secret.txt',
  '%2E%2E%2Fsecret.txt',
  '..%2fsecret.txt',
  '..\\secret.txt',
  'sub\\..\\..\\secret.txt',
  'C:\\Windows\\win.ini',
  'c:/secret.txt',
  'http://127.0.0.1:1/secret.txt',
  '//127.0.0.1:1/secret.txt',
  'file:///etc/passwd',
  '..',
  '.',
  './config.json',
  'sub//config.json',
  'sub/',
  '',
  'config.json?x=1',
  'config.json#frag',
  'con\u0000fig.json',
];

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isStudioError(e)) throw new Error(`expected a coded refusal, got ${e === null ? 'a read' : String(e)}`);
  expect(e.code, e.message).toBe(ModelErrorCode.unsafePath);
  return e.message;
}

describe('unsafePathReason', () => {
  it('accepts plain relative names, refuses every hostile spelling with a reason', () => {
    for (const ok of ['config.json', 'model-00001-of-00002.safetensors', 'sub/dir/file.json', 'a.b-c_d']) expect(unsafePathReason(ok), ok).toBeNull();
    for (const bad of HOSTILE) expect(unsafePathReason(bad), JSON.stringify(bad)).toMatch(/\w/);
    for (const bad of [5, null, undefined, ['a'], { a: 1 }]) expect(unsafePathReason(bad)).toMatch(/not a file name/);
  });
});

describe('folder sources', () => {
  const top = mkdtempSync(join(tmpdir(), 'safepath-'));
  const root = join(top, 'model');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, 'model.safetensors'));
  writeFileSync(join(root, 'config.json'), '{"ok": true}');
  writeFileSync(join(root, 'sub', 'config.json'), '{"sub": true}');
  writeFileSync(join(top, 'secret.txt'), 'SECRET');
  afterAll(() => rmSync(top, { recursive: true, force: true }));

  const opened: string[] = [];
  const sources: [string, ModelSource][] = [
    ['dirSource', dirSource(root, { onOpen: (p) => opened.push(p) })],
    ['fixtures dirSource', fixtureDirSource(root)],
  ];
  it.each(sources)('%s reads files inside, refuses every hostile name, and never opens a file outside', async (_name, source) => {
    expect(new TextDecoder().decode((await source.readBytes('config.json'))!)).toBe('{"ok": true}');
    expect(new TextDecoder().decode((await source.readBytes('sub/config.json'))!)).toBe('{"sub": true}');
    expect(await source.readBytes('missing.json')).toBeNull();
    for (const bad of HOSTILE) expect(await refusal(source.readBytes(bad))).toContain(JSON.stringify(bad));
    expect(opened.every((p) => p.startsWith(root))).toBe(true);
  });
  it.each(sources)('%s: a directory where a file belongs is E126 naming it, not EISDIR', async (_name, source) => {
    const e = await source.readBytes('model.safetensors').catch((err: unknown) => err);
    expect(isStudioError(e, ModelErrorCode.unreadableFile), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/model\.safetensors is a directory/);
  });
});

describe('a picked folder (filesSource)', () => {
  const files = [
    { path: 'model/config.json', file: new Blob(['{"ok": true}']) },
    { path: 'model/sub/x.json', file: new Blob(['{}']) },
  ];
  it('reads what was picked, refuses hostile names', async () => {
    const source = filesSource('model', files);
    expect(await source.readBytes('config.json')).not.toBeNull();
    expect(await source.readBytes('sub/x.json')).not.toBeNull();
    for (const bad of HOSTILE) await refusal(source.readBytes(bad));
  });
});

/** A server that records every request; `other` plays another origin. */
function recordingServer(files: Record<string, string>): { server: Server; requests: string[]; url: () => string } {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404);
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    }
  });
  return { server, requests, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('URL and Hub sources', () => {
  const index = (target: string) => JSON.stringify({ metadata: {}, weight_map: { 'model.embed_tokens.weight': target } });
  const main = recordingServer({ '/m/config.json': '{"ok": true}', '/secret.txt': 'SECRET', '/m/sub/x.json': '{}' });
  const other = recordingServer({ '/secret.txt': 'SECRET' });
  beforeAll(async () => {
    await Promise.all([main, other].map((s) => new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r))));
  });
  afterAll(() => Promise.all([main, other].map((s) => new Promise<void>((r) => s.server.close(() => r())))));

  it('urlSource fetches files under its base path, and requests nothing for a hostile name', async () => {
    const source = urlSource(`${main.url()}/m/`);
    expect(await source.readBytes('config.json')).not.toBeNull();
    expect(await source.readBytes('sub/x.json')).not.toBeNull();
    main.requests.length = 0;
    const hostile = [...HOSTILE, `${other.url()}/secret.txt`, `//${other.url().slice(7)}/secret.txt`];
    for (const bad of hostile) await refusal(source.readBytes(bad));
    expect(main.requests).toEqual([]);
    expect(other.requests).toEqual([]);
  });

  it('a shard index on one origin cannot name a shard on another, nor above its base path (E125 naming the entry)', async () => {
    for (const target of [`${other.url()}/secret.txt`, '../secret.txt', '%2e%2e/secret.txt', '..\\secret.txt']) {
      const served = recordingServer({ '/m/model.safetensors.index.json': index(target) });
      await new Promise<void>((r) => served.server.listen(0, '127.0.0.1', r));
      try {
        const msg = await refusal(checkpointFiles(urlSource(`${served.url()}/m/`)));
        expect(msg).toContain(`weight_map["model.embed_tokens.weight"] names ${JSON.stringify(target)}`);
        expect(served.requests).toEqual(['/m/model.safetensors.index.json']);
      } finally {
        await new Promise<void>((r) => served.server.close(() => r()));
      }
    }
    expect(other.requests).toEqual([]);
  });

  it('hubSource stays in the repo at its revision; a bad repo id or revision is refused up front', async () => {
    const fetched: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      fetched.push(String(input));
      return new Response(index('../../other-model/resolve/main/model.safetensors'), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const source = hubSource('owner/model', 'main', fakeFetch);
    const msg = await refusal(checkpointFiles(source));
    expect(msg).toMatch(/owner\/model: model\.safetensors\.index\.json: weight_map\["model\.embed_tokens\.weight"\] names "\.\.\/\.\.\/other-model/);
    for (const bad of HOSTILE) await refusal(source.readBytes(bad));
    expect(fetched).toEqual(['https://huggingface.co/owner/model/resolve/main/model.safetensors.index.json']);
    // a revision with '/' is one encoded segment; '..' is refused
    await hubSource('owner/model', 'refs/pr/1', fakeFetch).readBytes('config.json');
    expect(fetched.at(-1)).toBe('https://huggingface.co/owner/model/resolve/refs%2Fpr%2F1/config.json');
    for (const [repo, rev] of [['owner/..', 'main'], ['../x', 'main'], ['owner/model/extra', 'main'], ['owner/model', '..'], ['owner/model', '.']]) {
      expect(() => hubSource(repo!, rev, fakeFetch)).toThrow(/E125/);
    }
  });
});

describe('a shard index in a folder', () => {
  it('names a file outside the folder, as a number or as null: coded errors naming the entry, the outside file unread', async () => {
    const top = mkdtempSync(join(tmpdir(), 'safepath-index-'));
    const root = join(top, 'model');
    mkdirSync(root);
    const outside = join(top, 'other-model');
    mkdirSync(outside);
    writeFileSync(join(outside, 'model.safetensors'), readFileSync(join(FIXTURES_DIR, 'qwen3-tiny', 'model.safetensors')));
    const opened: string[] = [];
    const source = dirSource(root, { onOpen: (p) => opened.push(p) });
    const write = (map: unknown) => writeFileSync(join(root, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    try {
      for (const target of ['../other-model/model.safetensors', '../../../../../../etc/passwd', `${outside}/model.safetensors`, '%2e%2e/other-model/model.safetensors', '..\\other-model\\model.safetensors']) {
        write({ 'model.norm.weight': target });
        expect(await refusal(checkpointFiles(source))).toContain(`weight_map["model.norm.weight"] names ${JSON.stringify(target)}`);
      }
      for (const [value, shown] of [[5, '5'], [null, 'null'], [['a'], '["a"]']] as const) {
        write({ 'model.norm.weight': value });
        const e = await checkpointFiles(source).catch((err: unknown) => err);
        expect(isStudioError(e, ModelErrorCode.badConfig), String(e)).toBe(true);
        expect((e as Error).message).toContain(`weight_map["model.norm.weight"] is ${shown}; it must be the name of a shard file`);
      }
      writeFileSync(join(root, 'model.safetensors.index.json'), '{"weight_map": {');
      const e = await checkpointFiles(source).catch((err: unknown) => err);
      expect(isStudioError(e, ModelErrorCode.badConfig) && (e as Error).message).toMatch(/model\.safetensors\.index\.json is not valid JSON/);
      expect(opened.every((p) => p.startsWith(root))).toBe(true);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});
