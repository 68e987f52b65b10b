import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../engine/testing/testGpu';
import { loadCausalLM } from '../model/load';
import { fixtureSource } from '../model/testing/fixtures';
import { loadAdapter } from '../shadow/adapterIO';
import type { TrainEvent } from '../train/events';

const dir = mkdtempSync(join(tmpdir(), 'cli-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI as a user would (tsx with the .wgsl hooks); returns stdout, or stderr of a failure. */
function cli(args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('npx', ['tsx', '--import', './tools/node/register.mjs', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }) };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr) };
  }
}

describe('cli train', () => {
  it('trains qwen3-tiny on a JSONL file and writes adapter files that load', async () => {
    const data = join(dir, 'data.jsonl');
    const texts = ['the cat sat on the mat.', 'a dog ran in the park!', 'birds sing at dawn.', 'rain falls on the roof.', 'the sun is warm today.', 'we read books at night.', 'fish swim in the sea.', 'snow covers the hills.'];
    writeFileSync(data, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const out = join(dir, 'adapter');
    const run = cli(['train', '--model', 'tools/fixtures/out/qwen3-tiny', '--data', data, '--out', out, '--epochs', '2', '--batch', '2', '--grad-accum', '1', '--max-length', '32', '--lr', '1e-2', '--val-fraction', '0.25', '--eval-every', '3', '--json']);
    expect(run.ok, run.out).toBe(true);
    const lines = run.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TrainEvent | { type: 'saved'; steps: number; train: number; validation: number });
    // 8 examples, 2 for validation → 6 train examples in micro-batches of 2: 3 steps per epoch, 2 epochs.
    const saved = lines.at(-1) as { type: 'saved'; steps: number; train: number; validation: number };
    expect(saved).toMatchObject({ type: 'saved', steps: 6, train: 6, validation: 2 });
    const steps = lines.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(steps.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(lines.filter((e) => e.type === 'eval').map((e) => (e as { step: number }).step)).toEqual([3, 6]);
    expect(lines.find((e) => e.type === 'done')).toMatchObject({ reason: 'completed', step: 6 });

    const gpu = await testGpu();
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const files = { configJson: readFileSync(join(out, 'shadow_config.json'), 'utf8'), safetensors: new Uint8Array(readFileSync(join(out, 'shadow_adapter.safetensors'))) };
    const { model, metadata } = await loadAdapter(base, files);
    expect(metadata.base_model).toBe('qwen3-tiny');
    expect(metadata.optimizer_steps).toBe('6');
    expect(JSON.parse(files.configJson)).toMatchObject({ dropout: 0.2, injection_hidden_size: 16, shadow_intermediate_size: 256 });
    // Training moved the injection up-projections away from their zero init.
    const up = await gpu.read(model.params.byName.get('shadow_injection_model.injection_ups.0')!);
    expect(up.every(Number.isFinite)).toBe(true);
    expect(Math.max(...up.map(Math.abs))).toBeGreaterThan(0);
  });

  it('--shadow-model trains a pretrained explicit shadow; the adapter records it and reloads on its own', async () => {
    const data = join(dir, 'explicit.jsonl');
    const texts = ['the cat sat on the mat.', 'a dog ran in the park!', 'birds sing at dawn.', 'rain falls on the roof.', 'the sun is warm today.', 'we read books at night.'];
    writeFileSync(data, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const out = join(dir, 'explicit-adapter');
    const run = cli(['train', '--model', 'tools/fixtures/out/qwen3-tiny', '--shadow-model', 'tools/fixtures/out/explicit-llama-w36', '--data', data, '--out', out, '--max-steps', '3', '--batch', '2', '--grad-accum', '1', '--max-length', '32', '--lr', '1e-2', '--val-fraction', '0', '--json']);
    expect(run.ok, run.out).toBe(true);
    expect(run.out).toMatch(/"type":"saved".*"steps":3/);
    const gpu = await testGpu();
    const base = await loadCausalLM(gpu, fixtureSource('qwen3-tiny'));
    const { model, metadata } = await loadAdapter(base, { configJson: readFileSync(join(out, 'shadow_config.json'), 'utf8'), safetensors: new Uint8Array(readFileSync(join(out, 'shadow_adapter.safetensors'))) });
    expect(metadata.shadow_model_id).toBe('explicit-llama-w36'); // a folder is recorded by its name
    expect([model.resolved.backbone.C, model.resolved.projection, model.resolved.ownEmbeddingRows]).toEqual([36, true, 96]);
    const bad = cli(['train', '--model', 'tools/fixtures/out/qwen3-tiny', '--shadow-model', 'tools/fixtures/out/explicit-llama-w36', '--shadow-embeddings', 'base', '--data', data, '--out', join(dir, 'y')]);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/E217 the explicit shadow is 36 wide but would be fed the base embeddings, which are 40 wide/);
  });

  it('a bad flag fails with a coded error naming it', () => {
    const r = cli(['train', '--model', 'tools/fixtures/out/qwen3-tiny', '--data', 'x.jsonl', '--out', join(dir, 'x'), '--lr', 'fast']);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/E301 --lr "fast": is not a number/);
  });
});
