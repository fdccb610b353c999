import type { APIRequestContext, Page } from '@playwright/test';

import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { jobToken, stamp } from './jobs';
import { createUser, refreshUrl, signIn } from './support';

test.use({ viewport: { width: 1280, height: 900 } });

const opts = ['adam', 'sgd', 'rmsprop'];

/** lrOf is run i's learning rate: 0.001 to 0.03, a linear axis. */
const lrOf = (i: number) => (i + 1) / 1000;

/**
 * seedSweep reports 30 runs in a project of their own: params lr (a number)
 * and opt (text; run 29 has none) and a metric loss.
 */
async function seedSweep(request: APIRequestContext, token: string): Promise<string> {
  const project = `sweep-${stamp()}`;
  for (let i = 0; i < 30; i += 1) {
    const params: Record<string, unknown> = { lr: lrOf(i) };
    if (i !== 29) {
      params['opt'] = opts[i % 3];
    }
    const response = await request.post('/api/runs', {
      headers: { Authorization: `Bearer ${token}` },
      data: { project, external_id: `r${String(i)}`, name: `run-${String(i)}`, status: 'succeeded', params, metrics: { loss: i / 30 } },
    });
    expect(response.status(), 'report a run').toBe(201);
  }
  return project;
}

/** rowNames lists the names of the runs the table shows. */
async function rowNames(page: Page): Promise<string[]> {
  const names = await page.locator('tbody tr[data-run-id] td[data-col="name"]').allTextContents();
  return names.map((n) => n.trim()).sort();
}

function names(indexes: number[]): string[] {
  return indexes.map((i) => `run-${String(i)}`).sort();
}

/** dragAxis drags along axis `a` of the parallel coordinates from place t0 to t1 (0 bottom, 1 top). */
async function dragAxis(page: Page, a: number, t0: number, t1: number): Promise<void> {
  const canvas = page.getByTestId('sweep-lines');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const xs = ((await canvas.getAttribute('data-axes-x')) ?? '').split(',').map(Number);
  const top = Number(await canvas.getAttribute('data-plot-top'));
  const bottom = Number(await canvas.getAttribute('data-plot-bottom'));
  if (box === null || xs[a] === undefined) {
    throw new Error('no canvas');
  }
  const x = box.x + xs[a];
  const y = (t: number) => box.y + bottom - t * (bottom - top);
  await page.mouse.move(x, y(t0));
  await page.mouse.down();
  for (let s = 1; s <= 5; s++) {
    await page.mouse.move(x, y(t0 + ((t1 - t0) * s) / 5));
  }
  await page.mouse.up();
}

test('the sweep view draws the runs of the view, and its brushes filter the table as a query', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const project = await seedSweep(request, await jobToken(request, reviewer));
  await page.goto('/login');
  await signIn(page, reviewer.email, reviewer.password);
  // The view's own query (20 runs: lr up to 0.02) stays the sweep's selection.
  await page.goto(`/runs?project=${project}&q=${encodeURIComponent('params.lr <= 0.02')}`);
  await expect(page.getByRole('button', { name: 'Sweep' })).toHaveAttribute('aria-pressed', 'false');
  await page.getByRole('button', { name: 'Sweep' }).click();
  await expect(page).toHaveURL(/view=sweep/);
  await expect(page.getByRole('button', { name: 'Sweep' })).toHaveAttribute('aria-pressed', 'true');

  // Axes from GET /api/runs/keys, kept in the URL.
  const axes = page.getByRole('combobox', { name: 'Parallel coordinates axes' });
  // The sweep's chunk loads on demand (a busy machine: a longer wait than the default).
  await expect(axes).toBeVisible({ timeout: 20_000 });
  const lines = page.getByTestId('sweep-lines');
  await expect(lines).toHaveAttribute('data-loading', 'false', { timeout: 20_000 });
  await expect(lines).toHaveAttribute('data-lines', '20');
  await expect(page.getByTestId('sweep-scatter')).toHaveAttribute('data-points', '20');
  const axisRows = page.getByTestId('sweep-axes').locator('tbody th');
  await expect(axisRows).toHaveText(['params.lr', 'params.opt', 'metrics.loss']);
  await expect(page.getByTestId('sweep-progress')).toHaveText('Drawn: 20 of 20 runs');
  // Run 29 has no opt, but it is outside the view's query; pick the axes explicitly and keep them in the URL.
  await page.goto(`/runs?project=${project}&view=sweep&sweep=params.lr,params.opt,metrics.loss&sx=params.opt&sy=metrics.loss`);
  // Run 29 has no opt: both its segments touch the opt axis, so it gets no line.
  await expect(lines).toHaveAttribute('data-lines', '29');
  await expect(lines).toHaveAttribute('data-runs', '30');
  await expect(page.getByTestId('sweep-axes').locator('tr[data-axis="params.opt"] td').nth(1)).toHaveText(
    '1 (left out of this axis’s lines)',
  );
  await expect(page.getByTestId('sweep-axes').locator('tr[data-axis="params.opt"] td').first()).toHaveText(
    '3 values: adam, rmsprop, sgd',
  );
  await page.goto(`/runs?project=${project}&q=${encodeURIComponent('params.lr <= 0.02')}&view=sweep&sweep=params.lr,params.opt,metrics.loss`);
  await expect(lines).toHaveAttribute('data-lines', '20');
  await expect(page.getByTestId('runs-count')).toHaveText('at most 30 runs');

  // A mouse drag on the lr axis (linear, 0.001 to 0.02): the brush joins the query.
  const query = page.getByRole('textbox', { name: 'Query' });
  await dragAxis(page, 0, 0.3, 0.6);
  await expect(query).toHaveValue(/^params\.lr <= 0\.02 and params\.lr >= [0-9.e-]+ and params\.lr <= [0-9.e-]+$/);
  const m = /params\.lr >= ([0-9.e-]+) and params\.lr <= ([0-9.e-]+)$/.exec(await query.inputValue());
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  expect(lo).toBeGreaterThan(0.005);
  expect(hi).toBeLessThan(0.014);
  const dragged = Array.from({ length: 20 }, (_, i) => i).filter((i) => lrOf(i) >= lo && lrOf(i) <= hi);
  expect(dragged.length).toBeGreaterThan(3);
  await expect.poll(() => rowNames(page)).toEqual(names(dragged));
  await expect(lines).toHaveAttribute('data-selected', String(dragged.length));
  // The sweep still draws the view's 20 runs, the brushed ones highlighted.
  await expect(lines).toHaveAttribute('data-lines', '20');
  await expect(page).toHaveURL(/brush=/);

  // The keyboard path: the axes table's fields replace the lr brush; a chip brushes opt.
  await page.getByRole('textbox', { name: 'params.lr from' }).fill('0.005');
  await page.getByRole('textbox', { name: 'params.lr to' }).fill('0.01');
  await page.getByRole('textbox', { name: 'params.lr to' }).press('Enter');
  await expect(query).toHaveValue('params.lr <= 0.02 and params.lr >= 0.005 and params.lr <= 0.01');
  await expect.poll(() => rowNames(page)).toEqual(names([4, 5, 6, 7, 8, 9]));
  const adam = page.getByRole('checkbox', { name: 'adam' });
  await adam.focus();
  await page.keyboard.press('Space');
  await expect(query).toHaveValue('params.lr <= 0.02 and params.lr >= 0.005 and params.lr <= 0.01 and params.opt = "adam"');
  await expect.poll(() => rowNames(page)).toEqual(names([6, 9]));
  await expect(lines).toHaveAttribute('data-selected', '2');
  await page.getByRole('checkbox', { name: 'sgd' }).focus();
  await page.keyboard.press('Space');
  await expect(query).toHaveValue(
    'params.lr <= 0.02 and params.lr >= 0.005 and params.lr <= 0.01 and params.opt in ("adam", "sgd")',
  );
  await expect.poll(() => rowNames(page)).toEqual(names([4, 6, 7, 9]));

  // A reload keeps the axes and the brushes.
  await page.reload();
  await expect(axisRows).toHaveText(['params.lr', 'params.opt', 'metrics.loss']);
  await expect(lines).toHaveAttribute('data-selected', '4');
  await expect(page.getByRole('textbox', { name: 'params.lr from' })).toHaveValue('0.005');

  // Clearing a brush takes its condition out; clearing all restores the view's query and its runs.
  await page.getByRole('button', { name: 'Clear the brush of params.lr' }).click();
  await expect(query).toHaveValue('params.lr <= 0.02 and params.opt in ("adam", "sgd")');
  await page.getByRole('checkbox', { name: 'adam' }).focus();
  await page.keyboard.press('Space');
  await page.getByRole('checkbox', { name: 'sgd' }).focus();
  await page.keyboard.press('Space');
  await expect(query).toHaveValue('params.lr <= 0.02');
  await expect(page).not.toHaveURL(/brush=/);
  await expect(lines).toHaveAttribute('data-selected', '20');
  await expect.poll(async () => (await rowNames(page)).length).toBe(20);

  // A drag on the categorical axis picks the values under it; a click on the axis clears it.
  await dragAxis(page, 1, 0.02, 0.4);
  await expect(query).toHaveValue('params.lr <= 0.02 and params.opt = "adam"');
  await expect.poll(() => rowNames(page)).toEqual(names([0, 3, 6, 9, 12, 15, 18]));
  await dragAxis(page, 1, 0.5, 0.5);
  await expect(query).toHaveValue('params.lr <= 0.02');
  await expect(page).toHaveURL(/sweep=params\.lr%2Cparams\.opt%2Cmetrics\.loss|sweep=params\.lr,params\.opt,metrics\.loss/);

  // A query edited by hand makes the brushes stale: the sweep draws the query as typed, without them.
  await dragAxis(page, 1, 0.02, 0.4);
  await expect(query).toHaveValue('params.lr <= 0.02 and params.opt = "adam"');
  await query.fill('params.lr <= 0.01');
  await query.press('Enter');
  await expect(page).not.toHaveURL(/brush=/);
  await expect(lines).toHaveAttribute('data-lines', '10');
  await expect(lines).toHaveAttribute('data-selected', '10');
});

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`in the ${colorScheme} colour scheme`, () => {
    test.use({ colorScheme });
    test(`the sweep view with a brush has no WCAG 2.1 A/AA violations (${colorScheme})`, async ({ page, request, pageProblems }) => {
      pageProblems.expect(401, refreshUrl, page);
      const viewer = await createUser(request, 'viewer');
      const project = await seedSweep(request, await jobToken(request, await createUser(request, 'reviewer')));
      await page.goto('/login');
      await signIn(page, viewer.email, viewer.password);
      await page.goto(`/runs?project=${project}&view=sweep&sweep=params.lr,params.opt,metrics.loss`);
      await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
      await expect(page.getByTestId('sweep-lines')).toHaveAttribute('data-lines', '29', { timeout: 20_000 });
      await page.getByRole('textbox', { name: 'params.lr from' }).fill('0.01');
      await page.getByRole('textbox', { name: 'params.lr from' }).press('Enter');
      await expect(page.getByRole('textbox', { name: 'Query' })).toHaveValue('params.lr >= 0.01 and params.lr <= 0.03');
      await expect(page.getByTestId('sweep-lines')).toHaveAttribute('data-selected', '21');
      await expectAccessible(page, `the sweep view (${colorScheme})`);
    });
  });
}
