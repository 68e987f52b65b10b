import type { Locator, Page } from '@playwright/test';
import { expect } from '@playwright/test';
import { keepScreenshot } from './screenshots';

/** Screenshots start at the top of the page (the nav bar is sticky: a scrolled full-page shot shows it mid-page). */
export async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await keepScreenshot(page, name);
}

/**
 * Opens the studio and waits until it is ready. The browser's console errors are echoed into the test
 * log; uncaught page errors are collected in the returned list, which a spec asserts empty at its end.
 */
export async function openStudio(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
  await expect(page.locator('.app')).toHaveAttribute('data-status', 'ready');
  return errors;
}

export const go = (page: Page, screen: string) => page.locator(`nav [data-screen="${screen}"]`).click();
export const num = async (l: Locator, attr: string) => Number(await l.getAttribute(attr));

export async function setNumber(page: Page, name: string, value: number): Promise<void> {
  const input = page.locator(`input[name="${name}"]`);
  await input.fill(String(value));
  await expect(input).toHaveValue(String(value));
}

/** Waits until the train screen reports at least `step` optimizer steps. */
export async function waitForStep(page: Page, step: number, timeout: number): Promise<void> {
  const train = page.getByTestId('train-screen');
  const t0 = Date.now();
  let last = -1;
  await expect
    .poll(async () => {
      const err = page.getByTestId('train-error');
      if ((await err.count()) > 0) throw new Error(`training failed: ${await err.innerText()}`);
      const n = await num(train, 'data-step');
      if (n !== last) console.log(`step ${n}: loss ${await train.getAttribute('data-loss')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      last = n;
      return n;
    }, { timeout, intervals: [1000] })
    .toBeGreaterThanOrEqual(step);
}
