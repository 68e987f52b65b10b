import { expect, test } from '@playwright/test';
import { go, openStudio, num, setNumber, shot, waitForStep } from './helpers';

// docs/shadowpeft.md §6 in the browser: a pretrained model as the shadow. The bundled model is the only one
// served offline, so it serves as its own explicit shadow (same tokenizer and width: it keeps and
// trains its own embeddings, no projection). Checked: the Configure screen reads the shadow model's
// config through the worker and counts its parameters; the worker's warm-up step (real WebGPU, the
// explicit shapes) agrees on the count; a run loads its pretrained weights and trains two steps.
test('explicit shadow: choose a pretrained shadow model, estimate, train two steps', async ({ page }) => {
  test.setTimeout(8 * 60_000);
  await openStudio(page);
  await go(page, 'model');
  await expect(page.getByTestId('model-info')).toHaveAttribute('data-status', 'ready');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByTestId('model-load')).toHaveAttribute('data-status', 'loaded', { timeout: 120_000 });

  await go(page, 'configure');
  const count = page.getByTestId('param-count');
  const implicit = await num(count, 'data-trainable');
  expect(implicit).toBeGreaterThan(0);
  await page.getByLabel('a pretrained model (explicit shadow)').check();
  await page.locator('#shadow-model').fill('/models/kjv-llama-3m/');
  await page.getByRole('button', { name: 'Use' }).click();
  await expect(page.getByTestId('shadow-source')).toHaveAttribute('data-explicit', 'true');
  await expect(page.getByTestId('shadow-model-info')).toContainText('llama, 4 layers, 256 wide');
  // the shadow is now the whole 4-layer model with its embeddings: more parameters than 1 fresh layer
  await expect.poll(() => num(count, 'data-trainable')).toBeGreaterThan(implicit);
  const explicitCount = await num(count, 'data-trainable');
  await expect(page.locator('input[name="num_shadow_layers"]')).toBeDisabled();
  await setNumber(page, 'microBatchSize', 2);
  await setNumber(page, 'gradientAccumulation', 1);
  await setNumber(page, 'epochs', 1); // stopped after two steps
  await setNumber(page, 'evalEvery', 0);
  await setNumber(page, 'checkpointEvery', 0);

  await go(page, 'data');
  await setNumber(page, 'maxLength', 64);
  await page.getByTestId('demo-datasets').locator('button').first().click();
  await expect(page.getByTestId('data-summary')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });

  await go(page, 'configure');
  const est = page.getByTestId('estimate');
  await expect(est).toHaveAttribute('data-status', /ready|error/, { timeout: 180_000 });
  await expect(est).toHaveAttribute('data-status', 'ready');
  expect(await num(est, 'data-trainable')).toBe(explicitCount);
  await shot(page, 'explicit-shadow-configure');
  await page.setViewportSize({ width: 420, height: 800 });
  await shot(page, 'explicit-shadow-configure-narrow');
  await page.setViewportSize({ width: 1280, height: 800 });

  await go(page, 'train');
  await page.getByTestId('start-training').click();
  await waitForStep(page, 2, 4 * 60_000);
  await page.getByRole('button', { name: 'Stop' }).click();
  const train = page.getByTestId('train-screen');
  await expect(train).toHaveAttribute('data-status', /stopped|done/, { timeout: 120_000 });
  expect(Number(await train.getAttribute('data-loss'))).toBeGreaterThan(0);
});
