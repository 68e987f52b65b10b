import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlSource } from './urlSource';

let base = '';
const server = createServer((req, res) => {
  if (req.url === '/m/config.json') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '13' });
    res.end('{"a": "bcde"}');
  } else if (req.url === '/m/fallback.json') {
    // What a single-page-app host answers for any missing path.
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html></html>');
  } else if (req.url === '/m/gated.json') {
    res.writeHead(401);
    res.end();
  } else {
    res.writeHead(404);
    res.end();
  }
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('urlSource (a static server in the Hub layout)', () => {
  it('streams a file with byte progress', async () => {
    const seen: number[] = [];
    const bytes = await urlSource(base).readBytes('config.json', (p) => seen.push(p.loaded));
    expect(new TextDecoder().decode(bytes!)).toBe('{"a": "bcde"}');
    expect(seen[seen.length - 1]).toBe(13);
  });
  it('a 404, or an HTML page served for a missing file, is "not there"', async () => {
    expect(await urlSource(base).readBytes('model.safetensors.index.json')).toBeNull();
    expect(await urlSource(base).readBytes('fallback.json')).toBeNull();
  });
  it('other HTTP errors are coded errors with a hint', async () => {
    await expect(urlSource(base).readBytes('gated.json')).rejects.toThrow(/E123 .*HTTP 401 — the repository may be gated/);
  });
});
