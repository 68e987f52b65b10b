import type { Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';

/** Screenshots are kept as artifacts of a run, so a person can look at what the user saw. */
export const ARTIFACTS = 'e2e/artifacts';

export async function keepScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}
