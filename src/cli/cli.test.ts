import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors } from '../model/safetensors/parse';
import { toFloat32 } from '../model/safetensors/convert';
import { relativeL2 } from '../engine/testing/expectClose';
import { describe, expect, it } from 'vitest';
import { loadGolden } from '../model/testing/fixtures';

/** Runs the CLI as a user would (tsx with the .wgsl hooks), returning stdout. */
function cli(args: string[]): string {
  return execFileSync('npx', ['tsx', '--import', './tools/node/register.mjs', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

describe('cli', () => {
  it('info prints the config summary and parameter count', () => {
    const out = cli(['info', 'tools/fixtures/out/qwen3-tiny']);
    expect(out).toMatch(/family\s+qwen3/);
    expect(out).toMatch(/heads\s+5 query, 1 key\/value, head size 8/);
    expect(out).toMatch(/parameters\s+[\d,]+/);
  });

  it('generate prints the reference script\'s greedy tokens, with and without the KV cache', () => {
    const g = loadGolden('qwen3-tiny');
    const want = g.json.greedy as number[];
    const args = ['generate', 'tools/fixtures/out/qwen3-tiny', '--prompt-ids', (g.json.prompt as number[]).join(','), '--max-new-tokens', String(want.length), '--ignore-eos', '--json'];
    for (const extra of [[], ['--no-cache']]) {
      const line = cli([...args, ...extra]).trim().split('\n').pop()!;
      expect((JSON.parse(line) as { tokens: number[] }).tokens).toEqual(want);
    }
  });

  it.each([
    ['shadow-qwen3-tiny', []],
    // an explicit shadow's adapter as Python writes it (no record of the shadow model): named on the command line
    ['shadow-qwen3-tiny-explicit', ['--shadow-model', 'tools/fixtures/out/explicit-llama-w36']],
  ])('dump of %s writes logits, losses and every adapter gradient matching the PyTorch fixture', (name, extra) => {
    const out = join(mkdtempSync(join(tmpdir(), 'dump-')), 'dump.safetensors');
    const dir = `tools/fixtures/out/${name}`;
    cli(['dump', '--model', 'tools/fixtures/out/qwen3-tiny', '--adapter', dir, '--batch', `${dir}/batch.json`, '--out', out, ...extra]);
    const got = parseSafetensors(new Uint8Array(readFileSync(out)));
    const golden = parseSafetensors(new Uint8Array(readFileSync(`${dir}/golden.safetensors`)));
    const value = (f: typeof got, k: string) => toFloat32(f.tensors.get(k)!.data, f.tensors.get(k)!.dtype);
    for (const k of ['loss', 'base_loss', 'shadow_loss']) expect(Math.abs(value(got, k)[0]! - value(golden, k)[0]!)).toBeLessThan(1e-4);
    expect(got.tensors.get('logits')!.shape).toEqual([2, 7, 96]);
    const gradKeys = [...golden.tensors.keys()].filter((k) => k.startsWith('grad.'));
    expect([...got.tensors.keys()].filter((k) => k.startsWith('grad.')).sort()).toEqual(gradKeys.sort());
    for (const k of gradKeys) {
      const want = value(golden, k);
      if (want.some((v) => v !== 0)) expect(relativeL2(value(got, k), want)).toBeLessThan(1e-3);
    }
  });

  it('an unreachable model URL fails with a coded error, not a stack trace', () => {
    let stderr = '';
    try {
      cli(['info', 'https://127.0.0.1:1/nothing']);
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
    }
    expect(stderr).toMatch(/E123 could not fetch config\.json/);
  });
});
