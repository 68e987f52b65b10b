import { expect, test } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { readFileSync } from 'node:fs';
import { SHADOW_CONFIG_FIELDS } from '../src/shadow/config';
import { go, openStudio, num, setNumber, shot, waitForStep } from './helpers';

// The whole path of issue 7 on the bundled tiny model, in SwiftShader: model → data → configure →
// 20 training steps → inspect → playground → download → reload and resume from IndexedDB.
// Settings are kept small (micro-batch 2, sequences ≤ 128 tokens) because the software GPU is slow.
const STEPS = 20;

test('studio: load, train 20 steps, inspect, generate, download, reload and resume', async ({ page }) => {
  test.setTimeout(14 * 60_000);
  const errors = await openStudio(page);

  let baseModel = '';
  await test.step('1. the bundled model is preselected, inspected and loads', async () => {
    await go(page, 'model');
    await expect(page.locator('nav [data-screen="model"]')).toHaveAttribute('aria-current', 'page');
    await expect(page.getByTestId('bundled-models').locator('button[aria-pressed="true"]')).toHaveCount(1);
    const info = page.getByTestId('model-info');
    await expect(info).toHaveAttribute('data-status', 'ready');
    expect(await num(page.getByTestId('model-params'), 'data-value')).toBeGreaterThan(0);
    await expect(page.getByTestId('model-memory')).toHaveAttribute('data-fits', 'true');
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect(page.getByTestId('model-load')).toHaveAttribute('data-status', 'loaded', { timeout: 120_000 });
    baseModel = (await page.getByTestId('model-loaded').getAttribute('data-model-id')) ?? '';
    expect(baseModel).not.toBe('');
    await shot(page, 'studio-1-model');
  });

  await test.step('configure a small, fast run (before the data, so the estimate runs once)', async () => {
    await go(page, 'configure');
    await page.locator('[data-preset="reasoning"]').click();
    const count = page.getByTestId('param-count');
    expect(await num(count, 'data-trainable')).toBeGreaterThan(0);
    const pct = await num(count, 'data-percent');
    expect(pct).toBeGreaterThan(0);
    expect(pct).toBeLessThan(1);
    expect(await num(count, 'data-lora-rank')).toBeGreaterThan(0);
    await setNumber(page, 'microBatchSize', 2);
    await setNumber(page, 'gradientAccumulation', 1);
    await setNumber(page, 'warmupRatio', 0);
    await setNumber(page, 'epochs', 1);
    await setNumber(page, 'evalEvery', STEPS);
    await setNumber(page, 'checkpointEvery', 10);
    // the count follows the shadow's shape live
    const before = await num(count, 'data-trainable');
    await setNumber(page, 'injection_hidden_size', 32);
    await expect.poll(() => num(count, 'data-trainable')).toBeGreaterThan(before);
    await setNumber(page, 'injection_hidden_size', 16);
    await expect.poll(() => num(count, 'data-trainable')).toBe(before);
  });

  await test.step('2. a demo dataset is prepared with its format, preview, label mask and histogram', async () => {
    await go(page, 'data');
    await setNumber(page, 'maxLength', 96);
    await setNumber(page, 'validationFraction', 0.01);
    // A text/label demo when there is one: its loss (on the label tokens) falls clearly within 20 steps.
    const demos = page.getByTestId('demo-datasets');
    await expect(demos.locator('button').first()).toBeVisible();
    const classification = demos.locator('button[data-format="classification"]');
    await ((await classification.count()) > 0 ? classification.first() : demos.locator('button').first()).click();
    const summary = page.getByTestId('data-summary');
    await expect(summary).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    expect(await summary.getAttribute('data-format')).not.toBe('');
    expect(await num(summary, 'data-examples')).toBeGreaterThan(STEPS * 2);
    await expect(page.getByTestId('data-preview').locator('tbody tr').first()).toBeVisible();
    await expect(page.getByTestId('data-preview').locator('[data-supervised="true"]').first()).toBeVisible();
    await expect(page.getByTestId('length-histogram')).toBeVisible();
    await shot(page, 'studio-2-data');
  });

  await test.step('3. the estimate arrives', async () => {
    await go(page, 'configure');
    const est = page.getByTestId('estimate');
    await expect(est).toHaveAttribute('data-status', /ready|error/, { timeout: 180_000 });
    await expect(est).toHaveAttribute('data-status', 'ready');
    expect(await num(est, 'data-total-bytes')).toBeGreaterThan(0);
    await shot(page, 'studio-3-configure');
  });

  let pausedAt = 0;
  await test.step(`4. ${STEPS} training steps with the loss falling, then pause`, async () => {
    await go(page, 'train');
    await page.getByTestId('start-training').click();
    await waitForStep(page, STEPS, 8 * 60_000);
    const train = page.getByTestId('train-screen');
    // The evaluation after the last step first: a pause would interrupt it (it acts within one batch).
    await expect(train).not.toHaveAttribute('data-val-loss', '', { timeout: 4 * 60_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect(train).toHaveAttribute('data-status', 'paused', { timeout: 60_000 });
    pausedAt = await num(train, 'data-step');
    const start = await num(train, 'data-loss-start');
    const end = await num(train, 'data-loss-end');
    console.log(`steps ${pausedAt}: mean loss of the first 5 steps ${start}, of the last 5 ${end}`);
    expect(Number.isFinite(start) && Number.isFinite(end)).toBe(true);
    expect(end).toBeLessThan(start);
    await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-points', String(pausedAt));
    await shot(page, 'studio-4-train');
    await page.setViewportSize({ width: 420, height: 800 });
    await shot(page, 'studio-4-train-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await test.step('5. inspect: six heatmaps with finite values; a click selects a cell', async () => {
    await go(page, 'inspect');
    await page.locator('#inspect-prompt').fill('And God said, Let there be light.');
    await page.getByTestId('inspect-run').click();
    await expect(page.getByTestId('inspect-screen')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    const maps = page.getByTestId('heatmap');
    await expect(maps).toHaveCount(6);
    for (const m of await maps.all()) {
      expect(await m.getAttribute('data-finite'), `${await m.getAttribute('data-stat')} finite`).toBe('true');
      expect(await num(m, 'data-layers')).toBeGreaterThan(0);
      expect(await num(m, 'data-tokens')).toBeGreaterThan(1);
    }
    const canvas = maps.first().locator('canvas');
    const box = (await canvas.boundingBox())!;
    await canvas.click({ position: { x: box.width - 20, y: 12 } });
    await expect(page.getByTestId('inspect-selection')).not.toHaveAttribute('data-layer', '');
    // the logit lens of the selected token: one row per slot, read out on the GPU
    const lens = page.getByTestId('logit-lens');
    await expect(lens).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    expect(await num(lens, 'data-layers')).toBeGreaterThan(0);
    // the probe prompt's statistics, snapshotted at the evaluation of step 20
    await expect(page.getByTestId('over-training')).not.toHaveAttribute('data-count', '0', { timeout: 60_000 });
    await canvas.hover({ position: { x: box.width - 20, y: 12 } });
    await expect(page.getByTestId('heatmap-tip')).toBeVisible();
    await shot(page, 'studio-5-inspect');
  });

  await test.step('6. the playground generates with base, base + shadow and the shadow alone', async () => {
    await go(page, 'playground');
    await page.locator('#pg-prompt').fill('Say this in modern English:\nThou art my son.');
    await setNumber(page, 'maxNewTokens', 8);
    await page.getByTestId('playground-run').click();
    const cols = page.getByTestId('generation');
    await expect(cols).toHaveCount(3);
    for (const mode of ['base', 'base_shadow', 'shadow_only']) {
      const c = page.locator(`[data-testid="generation"][data-mode="${mode}"]`);
      await expect(c, mode).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
      expect(await num(c, 'data-tokens'), `${mode} tokens`).toBeGreaterThan(0);
      expect(await num(c, 'data-tokens-per-second'), `${mode} tokens/s`).toBeGreaterThan(0);
    }
    await shot(page, 'studio-6-playground');
  });

  await test.step('7. the adapter downloads as a zip with the official files and keys', async () => {
    await go(page, 'adapters');
    await expect(page.getByTestId('checkpoints')).not.toHaveAttribute('data-count', '0', { timeout: 30_000 });
    const downloading = page.waitForEvent('download');
    await page.getByTestId('download-zip').click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const files = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    expect(Object.keys(files).sort()).toEqual(['README.md', 'loss_history.csv', 'shadow_adapter.safetensors', 'shadow_config.json']);
    const config = JSON.parse(strFromU8(files['shadow_config.json']!)) as Record<string, unknown>;
    expect(Object.keys(config).sort()).toEqual([...SHADOW_CONFIG_FIELDS].sort());
    const st = files['shadow_adapter.safetensors']!;
    const headerLength = Number(new DataView(st.buffer, st.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(strFromU8(st.subarray(8, 8 + headerLength))) as Record<string, { shape: number[] }>;
    for (const key of ['shadow_model.norm.weight', 'shadow_model.layers.0.self_attn.q_proj.weight', 'shadow_model.layers.0.mlp.down_proj.weight', 'shadow_injection_model.injection_downs', 'shadow_injection_model.injection_ups', 'shadow_update_model.update_gates.0.0.weight', 'shadow_update_model.update_transforms.0.3.weight', 'shadow_update_model.hidden_norm.weight', 'shadow_update_model.hidden_norm.bias']) {
      expect(header, key).toHaveProperty([key]);
    }
    expect(header['shadow_injection_model.injection_downs']!.shape[2]).toBe(config.injection_hidden_size);
    const readme = strFromU8(files['README.md']!);
    expect(readme).toContain(baseModel);
    expect(readme).toContain('from shadow_peft import');
    const csv = strFromU8(files['loss_history.csv']!).trim().split('\n');
    expect(csv[0]).toMatch(/^step,epoch,loss,/);
    expect(csv.length - 1).toBeGreaterThanOrEqual(pausedAt);
    await shot(page, 'studio-7-adapters');
  });

  await test.step('8. after a reload, resuming from the IndexedDB checkpoint is offered and continues', async () => {
    await page.reload();
    await expect(page.locator('.app')).toHaveAttribute('data-status', 'ready');
    const offer = page.getByTestId('resume-offer');
    await expect(offer).toBeVisible({ timeout: 30_000 });
    expect(await num(offer, 'data-step')).toBe(pausedAt);
    await offer.getByRole('button', { name: 'Resume training' }).click();
    const train = page.getByTestId('train-screen');
    await expect(train).toHaveAttribute('data-status', 'running', { timeout: 180_000 });
    await waitForStep(page, pausedAt + 2, 4 * 60_000);
    await shot(page, 'studio-8-resumed');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect(train).toHaveAttribute('data-status', /stopped|done/, { timeout: 120_000 });
  });

  expect(errors).toEqual([]);
});
