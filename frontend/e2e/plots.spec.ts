import type { Locator, Page } from '@playwright/test';

import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { admin, createApiToken, createUser, refreshUrl, signIn } from './support';

/**
 * The run page's plots: one panel per series with its own y scale and a
 * shared cursor, log axes, another series as x, and every choice kept in the
 * URL. Two series of very different scales, pushed through the API as a job
 * does: a loss from 5 down to about 0.1, ending on a 0 a log axis cannot
 * show, and a learning rate from 0.001 to 0.2.
 */

/** panel is the plot panel (its section) of one series. */
const panel = (page: Page, name: string): Locator => page.getByRole('region', { name, exact: true });

/** hover puts the mouse on a fraction of a chart's plotting area. */
async function hover(chart: Locator, fraction: number): Promise<void> {
  const over = chart.locator('.u-over');
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  if (box === null) {
    throw new Error('the chart has no plotting area');
  }
  await chart.page().mouse.move(box.x + box.width * fraction, box.y + box.height / 2);
}

async function legends(page: Page): Promise<string> {
  return (await page.locator('.u-legend').allInnerTexts()).join('\n');
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`in the ${colorScheme} colour scheme`, () => {
    test.use({ colorScheme });

    test('a run plots one panel per series, log y and another series as x, kept in the URL', async ({
      page,
      pageProblems,
      request,
    }) => {
      const reviewer = await createUser(request, 'reviewer');
      const job = await createApiToken(request, reviewer, { name: 'plots job', scopes: ['runs:read', 'runs:write'] });
      const auth = { Authorization: `Bearer ${job.token}` };
      const created = await request.post('/api/runs', {
        headers: auth,
        data: { project: `plots-${colorScheme}`, external_id: 'warmup', name: 'warmup', status: 'succeeded' },
      });
      expect(created.status()).toBe(201);
      const id = ((await created.json()) as { id: string }).id;
      const loss = Array.from({ length: 200 }, (_, i) => [i, 5 * Math.exp(-i / 50)]);
      loss.push([200, 0]);
      const lr = Array.from({ length: 201 }, (_, i) => [i, 0.001 * (i + 1)]);
      const pushed = await request.post(`/api/runs/${id}/series`, { headers: auth, data: { loss, lr } });
      expect(pushed.status()).toBe(200);

      pageProblems.expect(401, refreshUrl, page);
      await page.goto(`/runs/${id}`);
      await signIn(page, admin.email, admin.password);
      await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);

      // One panel per series, each with its own (linear) y scale.
      const charts = page.getByTestId('series-chart');
      await expect(charts).toHaveCount(2);
      const lossChart = panel(page, 'loss').getByTestId('series-chart');
      const lrChart = panel(page, 'lr').getByTestId('series-chart');
      await expect(lossChart).toHaveAttribute('data-series', 'loss');
      await expect(lrChart).toHaveAttribute('data-series', 'lr');
      for (const c of [lossChart, lrChart]) {
        await expect(c).toHaveAttribute('data-loading', 'false');
        await expect(c).toHaveAttribute('data-y-scale', 'linear');
      }
      // Before the cursor is on a plot, the legends show dashes, never "null".
      expect(await legends(page)).not.toContain('null');

      // The cursor is shared: on the loss panel, the lr panel's legend shows its value there too.
      await hover(lossChart, 0.5);
      await expect(panel(page, 'lr').locator('.u-legend')).toContainText(/lr\s*0\.\d+/);
      await expect(panel(page, 'loss').locator('.u-legend')).toContainText(/loss\s*\d/);
      expect(await legends(page)).not.toContain('null');
      await expectAccessible(page, 'run page with the plot panels');

      // A drag over one panel zooms them all to the same steps (the selection is synced with the
      // cursor, and the panels share one window); Reset zoom on any panel resets them all.
      const over = lossChart.locator('.u-over');
      const box = await over.boundingBox();
      if (box === null) {
        throw new Error('the chart has no plotting area');
      }
      await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await expect(lossChart).toHaveAttribute('data-window', /^\d+-\d+$/);
      await expect(lrChart).toHaveAttribute('data-window', (await lossChart.getAttribute('data-window')) ?? 'none');
      const [from, to] = ((await lossChart.getAttribute('data-window')) ?? '').split('-').map(Number);
      expect(from).toBeGreaterThan(20);
      expect(to).toBeLessThan(100);
      await panel(page, 'lr').getByRole('button', { name: 'Reset zoom' }).click();
      await expect(lossChart).toHaveAttribute('data-window', '');
      await expect(lrChart).toHaveAttribute('data-window', '');

      // Log y on the loss panel only: the 0 is left out, and the panel says so.
      await panel(page, 'loss').getByRole('radiogroup', { name: 'Y scale' }).getByText('Log').click();
      await expect(page).toHaveURL(/[?&]logy=loss(&|$)/);
      await expect(lossChart).toHaveAttribute('data-y-scale', 'log');
      await expect(lrChart).toHaveAttribute('data-y-scale', 'linear');
      await expect(panel(page, 'loss').getByTestId('chart-notes')).toContainText('1 value ≤ 0 not shown on the log y axis');
      // A reload keeps it: it comes from the URL.
      await page.reload();
      await expect(charts).toHaveCount(2);
      await expect(lossChart).toHaveAttribute('data-loading', 'false');
      await expect(lossChart).toHaveAttribute('data-y-scale', 'log');
      await expect(lrChart).toHaveAttribute('data-y-scale', 'linear');
      await expect(
        panel(page, 'loss').getByRole('radiogroup', { name: 'Y scale' }).getByRole('radio', { name: 'Log' }),
      ).toBeChecked();

      // Loss against the learning rate, joined on step.
      await page.getByRole('combobox', { name: 'X axis' }).click();
      await page.getByRole('option', { name: 'lr', exact: true }).click();
      await expect(page).toHaveURL(/[?&]xseries=lr(&|$)/);
      await expect(lossChart).toHaveAttribute('data-axis', 'series');
      await expect(lossChart).toHaveAttribute('data-loading', 'false');
      await expect.poll(async () => Number(await lossChart.getAttribute('data-points'))).toBe(201);
      await expect(lossChart).toHaveAttribute('data-y-scale', 'log');
      await expect(panel(page, 'loss').locator('.u-legend')).toContainText('lr');
      // Near the right end the learning rate is near 0.2 and the loss low.
      await hover(lossChart, 0.95);
      await expect(panel(page, 'loss').locator('.u-legend')).toContainText(/lr\s*0\.1\d/);
      expect(await legends(page)).not.toContain('null');
      await expectAccessible(page, 'run page with a series as x and a log axis');

      // Log x on the lr panel: the learning rate is positive, nothing is left out.
      await panel(page, 'lr').getByRole('radiogroup', { name: 'X scale' }).getByText('Log').click();
      await expect(page).toHaveURL(/[?&]logx=lr(&|$)/);
      await expect(lrChart).toHaveAttribute('data-x-scale', 'log');
      await expect(panel(page, 'lr').getByTestId('chart-notes')).not.toContainText('left out of the log x axis');

      // Overlay: both series on one axis; the link reproduces the view in another page.
      await page.getByRole('radiogroup', { name: 'Layout' }).getByText('Overlay').click();
      await expect(page).toHaveURL(/[?&]plot=overlay(&|$)/);
      await expect(charts).toHaveCount(1);
      await expect(charts).toHaveAttribute('data-series', 'loss\u0000lr');
      const url = page.url();
      await page.goto('/runs');
      await page.goto(url);
      await expect(charts).toHaveCount(1);
      await expect(charts).toHaveAttribute('data-axis', 'series');
      await expect(charts).toHaveAttribute('data-loading', 'false');
      await expect(page.getByRole('combobox', { name: 'X axis' })).toHaveValue('lr');
      await hover(charts, 0.5);
      expect(await legends(page)).not.toContain('null');

      // Taking every series off leaves none plotted (not the default choice), and a reload keeps that.
      const picker = page.getByRole('combobox', { name: 'Series on the plot' });
      await picker.focus();
      // Two keys at once (as when Backspace is held): each takes one chip off,
      // though the URL, which keeps the choice, catches up only after both.
      await picker.press('Backspace');
      await picker.press('Backspace');
      await expect(page).toHaveURL(/[?&]s=(&|$)/);
      await expect(page.getByText('No series chosen: pick one above to plot it.')).toBeVisible();
      await expect(charts).toHaveCount(0);
      await page.reload();
      await expect(page.getByText('No series chosen: pick one above to plot it.')).toBeVisible();
      await expect(charts).toHaveCount(0);
    });
  });
}
