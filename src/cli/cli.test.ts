import { execFileSync } from 'node:child_process';
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
