import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { go, openStudio, num, setNumber, shot, waitForStep } from './helpers';

// Issue 20, points 3–7 ("the first hour in the studio"), walked as the new user did in headless
// Chromium: a Hub model that fails offline and then the bundled one; pasted CSV and then JSONL; a
// ShareGPT-shaped file; an empty file after a good one; and the figures (download size, the histogram's
// y label, Inspect's rows and axis titles, the checkpoint's epoch against the Train screen's).
// Each changed screen is kept at 1280 and 420 px wide in e2e/artifacts/first-hour-*.png.

/** A screenshot at 1280 and at 420 px wide. */
async function shots(page: Page, name: string): Promise<void> {
  await shot(page, `first-hour-${name}-1280`);
  await page.setViewportSize({ width: 420, height: 800 });
  await shot(page, `first-hour-${name}-420`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Picks a generated file in the Data screen's upload input. */
async function upload(page: Page, name: string, text: string): Promise<void> {
  await page.locator('input[type="file"][accept*=".jsonl"]').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
}

const chat = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: `Say ${i % 7} in words.` }, { role: 'assistant', content: `That is ${['zero', 'one', 'two', 'three', 'four', 'five', 'six'][i % 7]}.` }] });
const shareGpt = (i: number) => JSON.stringify({ conversations: [{ from: 'human', value: `Question ${i}?` }, { from: 'gpt', value: `Answer ${i}.` }] });
const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';

test('first hour: a failed Hub load, pasted text, a ShareGPT file, an empty file, and the figures', async ({ page, context }) => {
  test.setTimeout(9 * 60_000);
  // offline: every request to the Hub fails at once (the worker's requests included)
  await context.route(/huggingface\.co/, (route) => route.abort('internetdisconnected'));
  const errors = await openStudio(page);
  const t0 = Date.now();
  const modelBadge = page.locator('nav [data-screen="model"] .nav-badge');

  let layers = 0;
  await test.step('3. a Hub model that fails offline never hides the loaded bundled model; one error at a time', async () => {
    await go(page, 'model');
    const info = page.getByTestId('model-info');
    await expect(info).toHaveAttribute('data-status', 'ready');
    await page.getByRole('button', { name: 'Load model' }).click();
    const load = page.getByTestId('model-load');
    await expect(load).toHaveAttribute('data-status', 'loaded', { timeout: 120_000 });
    await expect(modelBadge).toHaveText('loaded');
    layers = Number(/(\d+) layers/.exec(await page.getByTestId('model-arch').innerText())![1]);
    // 7: the size is known once loaded (the bundled folder has no index that would say it beforehand)
    const download = page.getByTestId('model-download');
    expect(await num(download, 'data-bytes')).toBeGreaterThan(0);
    await expect(download).not.toContainText('unknown');
    const bundledKey = (await info.getAttribute('data-model-key'))!;

    await page.locator('#model-any').fill('someone/offline-model');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect(info).toHaveAttribute('data-status', 'error');
    await expect(info.getByRole('alert')).toHaveCount(1);
    await expect(page.getByTestId('model-loaded')).toHaveAttribute('data-here', 'false');
    await expect(modelBadge).toHaveText('loaded');
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect(load).toHaveAttribute('data-status', 'error');
    await expect(info.getByRole('alert'), 'the error is shown once').toHaveCount(1);
    await expect(page.getByTestId('model-loaded')).toContainText('stays loaded');
    await expect(modelBadge, 'a failed config read keeps the model').toHaveText('loaded');
    await shots(page, 'model-failed');

    await page.locator(`[data-testid="bundled-models"] button[data-model-key="${bundledKey}"]`).click();
    await expect(info).toHaveAttribute('data-status', 'ready');
    await expect(load).toHaveAttribute('data-status', 'loaded');
    await expect(info.getByRole('alert')).toHaveCount(0);
    await expect(page.getByTestId('model-loaded')).toHaveAttribute('data-here', 'true');
    await expect(modelBadge).toHaveText('loaded');
    await shots(page, 'model');
  });

  const summary = page.getByTestId('data-summary');
  let trainExamples = 0;
  await test.step('4. pasted text is detected again on every change: CSV, then JSONL', async () => {
    await go(page, 'data');
    await expect(summary).not.toContainText('a model must be loaded first');
    const text = page.locator('#data-text');
    await text.fill('prompt,completion\nHi,Hello\nBye,Goodbye\n');
    const kind = page.locator('#paste-kind');
    await expect(kind).toHaveAttribute('data-type', 'csv');
    await text.fill(lines(30, (i) => JSON.stringify({ prompt: `Hi ${i}`, completion: ` Hello ${i}.` })));
    await expect(kind).toHaveAttribute('data-type', 'jsonl');
    await expect(kind).toHaveValue('auto');
    await page.getByTestId('prepare-data').click();
    await expect(summary).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    await expect(summary).toHaveAttribute('data-format', 'prompt_completion');
    await shots(page, 'data-paste');
  });

  await test.step('5. a 3,000-line ShareGPT file: one short grouped message, and the formats it could be', async () => {
    await upload(page, 'sharegpt.jsonl', lines(3000, shareGpt));
    const error = page.getByTestId('data-error');
    await expect(error).toHaveAttribute('data-error-code', 'E401', { timeout: 60_000 });
    const message = await error.innerText();
    expect(message.length).toBeLessThan(1200);
    expect(message).toContain("3,000 lines: no known fields (found 'conversations')");
    expect(message).toContain('lines 1–3000');
    expect(message).not.toMatch(/skip/i);
    await page.getByTestId('data-error-formats').getByTestId('formats-link').click();
    await expect(page.getByTestId('data-formats')).toHaveAttribute('open', '');
    await shots(page, 'data-sharegpt');

    // mixed into good records: the summary groups them with their lines
    await upload(page, 'mixed.jsonl', lines(60, chat) + lines(40, shareGpt));
    await expect(summary).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    const issues = page.getByTestId('data-issues');
    await expect(issues).toHaveAttribute('data-count', '40');
    await expect(issues).toHaveAttribute('data-groups', '1');
    await expect(issues.locator('li')).toHaveText("40 lines: missing 'messages' — lines 61–100");
    await shots(page, 'data-grouped');
  });

  await test.step('7. the histogram’s y label shows every digit (11212 examples in one bin)', async () => {
    await upload(page, 'many.jsonl', lines(11212, () => JSON.stringify({ text: 'In the beginning.' })));
    await expect(summary).toHaveAttribute('data-status', 'ready', { timeout: 180_000 });
    const hist = page.getByTestId('length-histogram');
    // 'ready' may still be the previous file's summary for a moment: wait for this file's histogram
    await expect.poll(() => num(hist, 'data-y-max'), { timeout: 180_000 }).toBeGreaterThanOrEqual(10_000); // five digits (the validation split takes a few)
    const top = await num(hist, 'data-y-max');
    const label = page.getByTestId('histogram-y-max');
    await expect(label).toHaveText(String(top));
    // the label's own box in the chart's units: it starts inside the chart (x ≥ 0) and ends before the axis
    const box = await label.evaluate((el) => {
      const b = (el as SVGTextElement).getBBox();
      return { x: b.x, right: b.x + b.width, axis: Number(el.closest('svg')!.querySelector('line.axis')!.getAttribute('x1')) };
    });
    expect(box.x, 'the label starts inside the chart').toBeGreaterThanOrEqual(0);
    expect(box.right).toBeLessThanOrEqual(box.axis);
    await shots(page, 'data-histogram');
  });

  await test.step('6. an empty file after a good one: the old summary goes, and no action is offered that is disabled', async () => {
    await upload(page, 'good.jsonl', lines(100, chat));
    await expect(summary).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    await expect(summary).toHaveAttribute('data-shown', 'true');
    await upload(page, 'empty.jsonl', '');
    await expect(page.getByTestId('data-error')).toHaveAttribute('data-error-code', 'E811');
    await expect(page.getByTestId('data-error')).toContainText('The file empty.jsonl is empty');
    await expect(summary).toHaveAttribute('data-shown', 'false');
    await expect(summary).not.toContainText('Prepare data');
    await expect(page.getByTestId('prepare-data')).toBeDisabled();
    await shots(page, 'data-empty');
    // edited text greys the summary and keeps its action
    await upload(page, 'good.jsonl', lines(100, chat));
    await expect(summary).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    await setNumber(page, 'maxLength', 64);
    await expect(summary).toHaveAttribute('data-stale', 'true');
    const stale = page.getByTestId('data-stale');
    await expect(stale.getByRole('button', { name: 'Prepare data' })).toBeEnabled();
    await shots(page, 'data-stale');
    await stale.getByRole('button', { name: 'Prepare data' }).click();
    await expect(summary).toHaveAttribute('data-stale', 'false', { timeout: 120_000 });
    await expect(summary).toHaveAttribute('data-status', 'ready');
    trainExamples = await num(summary, 'data-examples');
  });

  await test.step('7. a short run: the checkpoint table’s epoch is the Train screen’s', async () => {
    await go(page, 'configure');
    await setNumber(page, 'microBatchSize', 2);
    await setNumber(page, 'gradientAccumulation', 1);
    await setNumber(page, 'checkpointEvery', 2);
    await setNumber(page, 'evalEvery', 1000);
    await go(page, 'train');
    await page.getByTestId('start-training').click();
    await waitForStep(page, 2, 4 * 60_000);
    await page.getByTestId('stop-training').click();
    const train = page.getByTestId('train-screen');
    await expect(train).toHaveAttribute('data-status', /stopped|done/, { timeout: 120_000 });
    // Stop acts between micro-batches: usually at step 2, a step later if the next one was nearly done
    const steps = await num(train, 'data-step');
    const epoch = await page.getByTestId('train-epoch').locator('.stat-value').innerText();
    expect(epoch).toBe(((steps * 2) / trainExamples).toFixed(2)); // 2 sequences a step, within the first epoch
    expect(Number(epoch)).toBeGreaterThan(0);
    await shots(page, 'train');

    await go(page, 'adapters');
    const saved = steps - (steps % 2); // checkpointEvery 2
    const row = page.locator(`[data-testid="checkpoints"] tr[data-step="${saved}"]`);
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return row.count();
        },
        { timeout: 60_000 },
      )
      .toBe(1);
    // the same figure as the Train screen showed at that step (not the cursor's whole epochs, 0.00)
    await expect(row).toHaveAttribute('data-epoch', saved === steps ? epoch : ((saved * 2) / trainExamples).toFixed(2));
    await expect(row.locator('td').nth(3)).toHaveText(await row.getAttribute('data-epoch') ?? '');
    await shots(page, 'adapters');
  });

  await test.step('7. Inspect says why a model of L layers has L−1 rows, and titles its axes', async () => {
    await go(page, 'inspect');
    await page.locator('#inspect-prompt').fill('And God said.');
    await page.getByTestId('inspect-run').click();
    await expect(page.getByTestId('inspect-screen')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
    const rows = page.getByTestId('inspect-rows');
    await expect(rows).toHaveAttribute('data-rows', String(layers - 1));
    await expect(rows).toContainText(`${layers - 1} rows for ${layers} layers`);
    const first = page.getByTestId('heatmap').first();
    await expect(first).toHaveAttribute('data-layers', String(layers - 1));
    await expect(first.getByTestId('heatmap-y-title')).toHaveText('adapter slot');
    await expect(first.getByTestId('heatmap-x-title')).toHaveText('prompt token →');
    await shots(page, 'inspect');
  });

  console.log(`first hour: ${((Date.now() - t0) / 1000).toFixed(0)} s after the page was ready`);
  expect(errors).toEqual([]);
});
