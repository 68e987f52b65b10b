import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../src/model/testing/fixtures';
import { heldModelId, inspectModel, loadModel } from './modelCommands';
import { session } from './session';

/** A fixture folder as the files a user would pick; `edit` may replace or drop files. */
function pickedFolder(name: string, edit: (file: string, bytes: Uint8Array) => Uint8Array | null = (_f, b) => b) {
  const dir = join(FIXTURES_DIR, name);
  const files = readdirSync(dir).flatMap((f) => {
    const bytes = edit(f, new Uint8Array(readFileSync(join(dir, f))));
    return bytes ? [{ path: `${name}/${f}`, file: new Blob([bytes as Uint8Array<ArrayBuffer>]) }] : [];
  });
  return { kind: 'files' as const, name, files };
}

/** What the UI relies on after a failed load (src/ui/store/modelSlice.ts asks heldModelId). */
describe('a failed model load', () => {
  it('keeps the loaded model when config.json or the tokenizer cannot be read; frees it when the weights fail', async () => {
    session.emit = () => undefined;
    await loadModel(pickedFolder('llama-tiny'));
    expect(heldModelId()).toBe('local folder llama-tiny');

    await expect(loadModel(pickedFolder('qwen3-tiny', (f, b) => (f === 'config.json' ? null : b)))).rejects.toThrow();
    expect(heldModelId()).toBe('local folder llama-tiny');
    await expect(loadModel(pickedFolder('qwen3-tiny', (f, b) => (f === 'tokenizer.json' ? new TextEncoder().encode('not json') : b)))).rejects.toThrow();
    expect(heldModelId()).toBe('local folder llama-tiny');

    await expect(loadModel(pickedFolder('qwen3-tiny', (f, b) => (f.endsWith('.safetensors') ? b.slice(0, 64) : b)))).rejects.toThrow();
    expect(heldModelId()).toBeNull();
  });

  it('a URL source that gives no size beforehand: the loaded model reports the bytes it read', async () => {
    session.emit = () => undefined;
    const dir = join(FIXTURES_DIR, 'llama-tiny');
    const server = createServer((req, res) => {
      const file = join(dir, decodeURIComponent((req.url ?? '/').slice(1)));
      if (!existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const spec = { kind: 'url' as const, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, label: 'local folder llama-tiny' };
      expect((await inspectModel(spec)).downloadBytes).toBeNull(); // no model.safetensors.index.json
      const loaded = await loadModel(spec);
      expect(loaded.downloadBytes).toBe(statSync(join(dir, 'model.safetensors')).size);
      expect(loaded.weightBytes).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });
});
