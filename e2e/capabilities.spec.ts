import { expect, test } from '@playwright/test';
import { keepScreenshot } from './screenshots';

// The kernels the worker checks against their CPU references, with the fewest checks each must run:
// matmul on 6 shapes; attention forward and backward on 2 padded GQA shapes (one with T ≥ 64);
// cross entropy loss and dh on 2 bf16x2-head shapes with ignored rows and ragged chunks.
const KERNEL_CHECKS = { matmul: 6, attention: 4, crossentropy: 4 };

test('capability screen shows the WebGPU adapter and the kernel self-test passes in the worker', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.locator('.app')).toHaveAttribute('data-status', 'ready');
  // the capability screen is the studio's "GPU" tab
  await page.locator('nav [data-screen="device"]').click();
  await expect(page.getByTestId('adapter')).toContainText(/swiftshader/i);
  // SwiftShader has no shader-f16: the browser suite exercises the f32-only / packed-weight paths.
  await expect(page.locator('[data-feature="shaderF16"]')).toHaveAttribute('data-value', 'false');

  await page.getByRole('button', { name: 'Run self-test' }).click();
  const selfTest = page.getByTestId('selftest');
  await expect(selfTest).toHaveAttribute('data-status', /passed|failed|error/, { timeout: 150_000 });
  // Open the per-check table for the screenshot (there is none when the worker reported an error).
  const details = selfTest.locator('details');
  if ((await details.count()) > 0) await details.locator('summary').click();
  await keepScreenshot(page, 'capabilities-selftest');
  // Per-check errors in the run's log: the figures a person compares against the tolerances.
  for (const row of await selfTest.locator('tr[data-check]').all()) {
    console.log(`${await row.getAttribute('data-kernel')} | ${await row.getAttribute('data-check')} | max error ${await row.getAttribute('data-max-error')} | passed ${await row.getAttribute('data-passed')}`);
  }
  for (const [kernel, minChecks] of Object.entries(KERNEL_CHECKS)) {
    const summary = page.getByTestId('selftest-kernels').locator(`[data-kernel="${kernel}"]`);
    await expect(summary, `${kernel} ran in the self-test`).toBeVisible();
    const total = Number(await summary.getAttribute('data-total'));
    const passed = Number(await summary.getAttribute('data-passed'));
    const maxError = Number(await summary.getAttribute('data-max-error'));
    expect(total, `${kernel} checks`).toBeGreaterThanOrEqual(minChecks);
    expect(passed, `${kernel} checks passed (max error ${maxError})`).toBe(total);
    expect(maxError, `${kernel} max error`).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(maxError), `${kernel} max error is finite`).toBe(true);
  }
  await expect(selfTest).toHaveAttribute('data-status', 'passed');
  const maxError = Number(await selfTest.getAttribute('data-max-error'));
  expect(Number.isFinite(maxError) && maxError >= 0).toBe(true);
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
