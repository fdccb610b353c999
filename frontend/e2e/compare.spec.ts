import type { Page } from '@playwright/test';

import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { stamp } from './jobs';
import { admin, apiToken, createApiToken, createUser, refreshUrl, signIn } from './support';

/**
 * Compare at lab scale: twelve runs of a sweep (a param `opt` of three
 * values, a loss series each) overlaid in one chart, each in its own colour,
 * then grouped by params.opt with a band; the choices in the URL survive a
 * reload; a run's verdict and comments are seen without leaving compare.
 */

const opts = ['adam', 'sgd', 'lion'] as const;

/** uPlotSeries are the labels of the series a chart's legend lists (x excluded). */
async function legendLabels(page: Page): Promise<string[]> {
  const labels = await page.locator('.u-legend .u-series .u-label').allInnerTexts();
  return labels.slice(1);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`in the ${colorScheme} colour scheme`, () => {
    test.use({ colorScheme });

    test('compare overlays 12 runs in their colours, groups them by a param with a band, and shows verdicts and comments', async ({
      page,
      pageProblems,
      request,
    }) => {
      const reviewer = await createUser(request, 'reviewer');
      const job = await createApiToken(request, reviewer, { name: `compare job ${stamp()}`, scopes: ['runs:read', 'runs:write'] });
      const auth = { Authorization: `Bearer ${job.token}` };
      const project = `compare-${colorScheme}-${stamp()}`;
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const opt = opts[i % opts.length] ?? 'adam';
        const created = await request.post('/api/runs', {
          headers: auth,
          data: { project, external_id: `r${String(i)}`, name: `run ${String(i)}`, status: 'succeeded', params: { opt, seed: i } },
        });
        expect(created.status()).toBe(201);
        const id = ((await created.json()) as { id: string }).id;
        ids.push(id);
        // A loss that falls at a rate set by the optimizer, with a little spread by seed.
        const rate = 20 + 20 * (i % opts.length) + i;
        const loss = Array.from({ length: 100 }, (_, s) => [s, 3 * Math.exp(-s / rate)]);
        expect((await request.post(`/api/runs/${id}/series`, { headers: auth, data: { loss } })).status()).toBe(200);
      }
      // A verdict and a comment on the first run, by the admin.
      const adminAuth = { Authorization: `Bearer ${await apiToken(request, admin.email, admin.password)}` };
      const first = ids[0] ?? '';
      expect(
        (await request.post(`/api/runs/${first}/review`, { headers: adminAuth, data: { state: 'rejected', comment: 'diverged' } })).status(),
      ).toBe(200);
      const comment = `spike at step 40 (${stamp()})`;
      expect((await request.post(`/api/runs/${first}/comments`, { headers: adminAuth, data: { body: comment } })).status()).toBe(201);

      // From the runs table: the view's first runs go to compare in one click.
      pageProblems.expect(401, refreshUrl, page);
      await page.goto('/runs');
      await signIn(page, admin.email, admin.password);
      await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
      await page.goto(`/runs?project=${encodeURIComponent(project)}`);
      await expect(page.getByTestId('runs-count')).toContainText('12 runs');
      await page.getByRole('button', { name: 'Compare the first 12' }).click();
      await expect(page).toHaveURL(/\/compare\?ids=/);
      const sent = new URL(page.url()).searchParams.get('ids')?.split(',') ?? [];
      expect([...sent].sort()).toEqual([...ids].sort());

      // One line per run, each in its run's colour, the same in the legend and in the runs list.
      const chart = page.getByTestId('series-chart');
      await expect(chart).toHaveAttribute('data-loading', 'false', { timeout: 15_000 });
      await expect(chart).toHaveAttribute('data-bands', '0');
      expect(await legendLabels(page)).toHaveLength(12);
      const colors = ((await chart.getAttribute('data-colors')) ?? '').split(' ');
      const names = ((await chart.getAttribute('data-series')) ?? '').split('\u0000');
      expect(colors).toHaveLength(12);
      const runsTable = page.getByRole('table', { name: 'Compared runs' });
      await expect(runsTable.getByRole('row')).toHaveCount(13);
      for (const k of [0, 5, 11]) {
        const name = names[k] ?? '';
        const swatch = runsTable
          .getByRole('row')
          .filter({ has: page.getByRole('link', { name, exact: true }) })
          .getByTestId('run-swatch');
        const swatchColor = await swatch.evaluate((el) => getComputedStyle(el).backgroundColor);
        const marker = page.locator('.u-legend .u-series').nth(k + 1).locator('.u-marker');
        const markerColor = await marker.evaluate((el) => getComputedStyle(el).borderColor);
        expect(markerColor, `${name}: legend and runs list`).toBe(swatchColor);
        expect(await page.evaluate((hex) => {
          const d = document.createElement('div');
          d.style.color = hex;
          document.body.append(d);
          const c = getComputedStyle(d).color;
          d.remove();
          return c;
        }, colors[k] ?? '')).toBe(swatchColor);
      }
      // With more than four runs the params table shows only what differs: opt and seed.
      await expect(page.getByRole('switch', { name: 'Only the differences' })).toBeChecked();
      await expect(page.getByRole('table', { name: 'Params' }).locator('tbody tr')).toHaveCount(2);
      await expectAccessible(page, 'compare, 12 runs');

      // A run's verdict and comments, from compare.
      const firstRow = runsTable.getByRole('row').filter({ has: page.getByRole('link', { name: 'run 0', exact: true }) });
      await expect(firstRow).toContainText('Rejected');
      await firstRow.getByRole('button', { name: 'Comments on run 0' }).click();
      const dialog = page.getByRole('dialog', { name: 'Comments on run 0' });
      await expect(dialog).toBeVisible();
      await expect(dialog.getByText(comment)).toBeVisible();
      await expectAccessible(page, 'comments dialog in compare');
      await dialog.getByRole('button', { name: 'Close' }).click();
      await expect(dialog).toBeHidden();

      // Group by params.opt: one line per optimizer, with a band.
      await page.getByRole('combobox', { name: 'Group by' }).click();
      await page.getByRole('option', { name: 'params.opt', exact: true }).click();
      await expect(page).toHaveURL(/group=params\.opt/);
      await expect(chart).toHaveAttribute('data-bands', '3');
      await expect(chart).toHaveAttribute('data-loading', 'false');
      await expect(chart).toHaveAttribute('data-series', opts.map((o) => `params.opt = ${o}`).sort().join('\u0000'));
      await page.getByText('Min–max', { exact: true }).click();
      await expect(page).toHaveURL(/band=minmax/);
      expect(await legendLabels(page)).toContain('params.opt = adam max');
      await expectAccessible(page, 'compare grouped by params.opt');

      // A reload restores the runs, the grouping and the band: one request for
      // the twelve runs and one for their series, none per run (the other
      // request is the "Add a run" search).
      const url = page.url();
      const asked: string[] = [];
      const onRequest = (r: { url: () => string }) => {
        const path = new URL(r.url()).pathname;
        if (path.startsWith('/api/runs/')) {
          asked.push(path);
        }
      };
      page.on('request', onRequest);
      await page.reload();
      await expect(chart).toHaveAttribute('data-bands', '3', { timeout: 15_000 });
      await expect(chart).toHaveAttribute('data-loading', 'false');
      expect(page.url()).toBe(url);
      const params = new URL(url).searchParams;
      expect(params.get('ids')?.split(',')).toHaveLength(12);
      expect(params.get('group')).toBe('params.opt');
      expect(params.get('band')).toBe('minmax');
      await expect(page.getByRole('combobox', { name: 'Group by' })).toHaveValue('params.opt');
      await expect(page.getByRole('radio', { name: 'Min–max' })).toBeChecked();
      expect(await legendLabels(page)).toContain('params.opt = lion min');
      page.off('request', onRequest);
      expect(asked.sort()).toEqual(['/api/runs/batch', '/api/runs/series']);

      // A run that is gone (or out of reach) is left out, and said so.
      await page.goto(url.replace('ids=', 'ids=0123456789abcdef01234567%2C'));
      await expect(page.getByRole('alert').filter({ hasText: 'A run is not shown' })).toBeVisible();
      await expect(runsTable.getByRole('row')).toHaveCount(13);
      await expect(chart).toHaveAttribute('data-bands', '3', { timeout: 15_000 });
    });
  });
}
