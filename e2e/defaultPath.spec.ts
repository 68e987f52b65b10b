import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { readFileSync } from 'node:fs';
import { go, openStudio, num, setNumber, shot, waitForStep } from './helpers';

// The path a new user takes, untouched: the bundled model and the preset the studio preselects for it,
// on every demo dataset — 3 steps, an evaluation and a checkpoint each (the only settings changed are
// how often to evaluate and save, so that both happen within 3 steps) — then Inspect, the Playground and
// an adapter download. The estimate's step time is compared with the measured one (within 2×).
const STEPS = 3;

async function trainThreeSteps(page: Page, demo: string): Promise<{ estimateMs: number; measuredMs: number }> {
  await go(page, 'data');
  await page.locator(`[data-testid="demo-datasets"] button[data-demo="${demo}"]`).click();
  const summary = page.getByTestId('data-summary');
  await expect(summary).toHaveAttribute('data-status', 'ready', { timeout: 180_000 });
  expect(await num(summary, 'data-examples')).toBeGreaterThan(STEPS * 2);

  await go(page, 'configure');
  const est = page.getByTestId('estimate');
  await expect(est).toHaveAttribute('data-status', /ready|error/, { timeout: 240_000 });
  await expect(est, 'the estimate of the preselected preset').toHaveAttribute('data-status', 'ready');
  const estimateMs = await num(est, 'data-ms-per-step');
  expect(estimateMs).toBeGreaterThan(0);
  expect(await num(est, 'data-ms-total')).toBeGreaterThan(estimateMs);

  await go(page, 'train');
  const train = page.getByTestId('train-screen');
  await page.getByTestId('start-training').click();
  // Stop is there from the moment the run starts.
  await expect(page.getByTestId('stop-training')).toBeVisible();
  const t0 = Date.now();
  await waitForStep(page, 1, 4 * 60_000);
  const t1 = Date.now();
  await waitForStep(page, STEPS, 4 * 60_000);
  const measuredMs = (Date.now() - t1) / (STEPS - 1);
  console.log(`${demo}: first step after ${((t1 - t0) / 1000).toFixed(0)} s, then ${(measuredMs / 1000).toFixed(1)} s per step; estimated ${(estimateMs / 1000).toFixed(1)} s`);
  // the evaluation after step 3 (its own phase), then the checkpoint
  await expect(train).not.toHaveAttribute('data-val-loss', '', { timeout: 4 * 60_000 });
  expect(Number.isFinite(await num(train, 'data-val-loss'))).toBe(true);
  // a fresh run starts its own list of checkpoints
  await expect.poll(() => num(train, 'data-checkpoints'), { timeout: 60_000 }).toBeGreaterThan(0);
  const start = await num(train, 'data-loss-start');
  expect(Number.isFinite(start) && Number.isFinite(await num(train, 'data-loss'))).toBe(true);
  await page.getByTestId('stop-training').click();
  await expect(train).toHaveAttribute('data-status', /stopped|done/, { timeout: 120_000 });
  return { estimateMs, measuredMs };
}

test('default path: the preselected preset trains on every demo dataset; inspect, playground, download', async ({ page }) => {
  test.setTimeout(20 * 60_000);
  const errors = await openStudio(page);
  await go(page, 'model');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByTestId('model-load')).toHaveAttribute('data-status', 'loaded', { timeout: 120_000 });

  await go(page, 'configure');
  const presets = page.getByTestId('presets');
  await expect(presets).toHaveAttribute('data-preset-source', 'auto');
  const chosen = presets.locator('button[aria-pressed="true"]');
  await expect(chosen).toHaveCount(1);
  await expect(chosen).toHaveAttribute('data-fits', 'true');
  const presetId = await chosen.getAttribute('data-preset');
  console.log(`preselected preset: ${presetId}`);
  await shot(page, 'default-1-configure');
  await page.setViewportSize({ width: 420, height: 800 });
  await shot(page, 'default-1-configure-narrow');
  await page.setViewportSize({ width: 1280, height: 800 });
  // Only when to evaluate and save, so that both happen within the 3 steps, and an evaluation of two
  // batches (the software GPU is slow); the preset's shapes stay.
  await setNumber(page, 'evalEvery', STEPS);
  await setNumber(page, 'evalBatches', 2);
  await setNumber(page, 'checkpointEvery', STEPS);

  const demos = await page.evaluate(async () => ((await (await fetch('/datasets/index.json')).json()) as { file: string }[]).map((d) => d.file));
  expect(demos.length).toBeGreaterThanOrEqual(3);
  for (const demo of demos) {
    const { estimateMs, measuredMs } = await test.step(`${demo}: ${STEPS} steps, an evaluation, a checkpoint`, () => trainThreeSteps(page, demo));
    expect(estimateMs / measuredMs, `${demo}: estimate ÷ measured step time`).toBeGreaterThan(0.5);
    expect(estimateMs / measuredMs, `${demo}: estimate ÷ measured step time`).toBeLessThan(2);
  }
  await shot(page, 'default-2-train');

  await test.step('inspect the trained adapter', async () => {
    await go(page, 'inspect');
    await page.locator('#inspect-prompt').fill('And God said, Let there be light.');
    await page.getByTestId('inspect-run').click();
    await expect(page.getByTestId('inspect-screen')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    for (const m of await page.getByTestId('heatmap').all()) expect(await m.getAttribute('data-finite')).toBe('true');
  });

  await test.step('the playground answers in three modes', async () => {
    await go(page, 'playground');
    await page.locator('#pg-prompt').fill('Thou art my son.');
    await setNumber(page, 'maxNewTokens', 4);
    await page.getByTestId('playground-run').click();
    for (const mode of ['base', 'base_shadow', 'shadow_only']) {
      await expect(page.locator(`[data-testid="generation"][data-mode="${mode}"]`), mode).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
    }
  });

  await test.step('the adapter downloads', async () => {
    await go(page, 'adapters');
    const downloading = page.waitForEvent('download');
    await page.getByTestId('download-zip').click();
    const files = unzipSync(new Uint8Array(readFileSync((await (await downloading).path())!)));
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['shadow_adapter.safetensors', 'shadow_config.json']));
  });
  expect(errors).toEqual([]);
});
