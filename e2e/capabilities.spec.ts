import { expect, test } from '@playwright/test';
import { keepScreenshot } from './screenshots';

test('capability screen shows the WebGPU adapter and the matmul self-test passes in the worker', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.locator('.app')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('adapter')).toContainText(/swiftshader/i);
  // SwiftShader has no shader-f16: the browser suite exercises the f32-only / packed-weight paths.
  await expect(page.locator('[data-feature="shaderF16"]')).toHaveAttribute('data-value', 'false');

  await page.getByRole('button', { name: 'Run self-test' }).click();
  const selfTest = page.getByTestId('selftest');
  await expect(selfTest).toHaveAttribute('data-status', /passed|failed|error/, { timeout: 120_000 });
  await keepScreenshot(page, 'capabilities-selftest');
  await expect(selfTest).toHaveAttribute('data-status', 'passed');
  const maxError = Number(await selfTest.getAttribute('data-max-error'));
  expect(maxError).toBeGreaterThanOrEqual(0);
  expect(maxError).toBeLessThan(1e-4);
  expect(errors).toEqual([]);
});

test('without WebGPU the studio explains what is missing', async ({ page }) => {
  // Remove navigator.gpu before any page script runs: the page must explain instead of failing.
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu;
  });
  await page.goto('/');
  await expect(page.getByTestId('no-webgpu')).toBeVisible();
  await expect(page.getByTestId('no-webgpu')).toHaveAttribute('data-error-code', 'E001');
  await expect(page.getByText(/Chrome or Edge 113/)).toBeVisible();
  await keepScreenshot(page, 'no-webgpu');
});
