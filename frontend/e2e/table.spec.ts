import type { APIRequestContext, Page } from '@playwright/test';

import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { jobToken, stamp } from './jobs';
import { createUser, refreshUrl, signIn } from './support';

test.use({ viewport: { width: 1280, height: 800 } });

/** seedRuns reports `count` runs with a loss in a project of their own, straight through the API. */
async function seedRuns(request: APIRequestContext, token: string, count: number): Promise<string> {
  const project = `table-${stamp()}`;
  for (let i = 0; i < count; i += 1) {
    const response = await request.post('/api/runs', {
      headers: { Authorization: `Bearer ${token}` },
      data: { project, external_id: `r${String(i)}`, name: `run-${String(i)}`, status: 'succeeded', metrics: { loss: i / 10 } },
    });
    expect(response.status(), 'report a run').toBe(201);
  }
  return project;
}

/** headers lists the table's column headers, left to right. */
async function headers(page: Page): Promise<(string | null)[]> {
  return page.locator('thead th').evaluateAll((ths) => ths.map((th) => th.getAttribute('aria-label')));
}

/**
 * visibleRows scrolls the page to the table (it fills the screen under the
 * sticky app header) and counts the rows wholly in view: inside the table's
 * box, under its column headers, below the app header and inside the window.
 */
async function visibleRows(page: Page): Promise<number> {
  return page.getByTestId('runs-scroller').evaluate((scroller) => {
    scroller.scrollIntoView({ block: 'end' });
    const box = scroller.getBoundingClientRect();
    const appHeader = document.querySelector('header')?.getBoundingClientRect().bottom ?? 0;
    const head = scroller.querySelector('thead')?.getBoundingClientRect().height ?? 0;
    const top = Math.max(box.top + head, appHeader);
    const bottom = Math.min(box.bottom, window.innerHeight);
    return Array.from(scroller.querySelectorAll('tbody tr[data-run-id]')).filter((tr) => {
      const r = tr.getBoundingClientRect();
      return r.top >= top - 1 && r.bottom <= bottom + 1;
    }).length;
  });
}

test('columns hide, move and pin, the layout comes back from the URL, and compact rows fill the screen', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const project = await seedRuns(request, await jobToken(request, reviewer), 40);

  await page.goto('/login');
  await signIn(page, reviewer.email, reviewer.password);
  await page.goto(`/runs?project=${project}`);
  await expect(page.getByTestId('runs-count')).toHaveText('40 runs');
  const all = ['Selection', 'Name', 'Project', 'Status', 'Failure', 'Review', 'Created', 'Duration', 'Tags'];
  expect(await headers(page)).toEqual(all);

  // Hide Project, move Tags before Duration, pin Status (after Name, pinned by default).
  await page.getByRole('button', { name: 'Columns' }).click();
  await expect(page.getByRole('button', { name: 'Pin Name' })).toHaveAttribute('aria-pressed', 'true');
  // (The URL changes, then the box: click and wait rather than uncheck().)
  await page.getByRole('checkbox', { name: 'Show Project' }).click();
  await expect(page.getByRole('checkbox', { name: 'Show Project' })).not.toBeChecked();
  await expect(page).toHaveURL(/hide=project/);
  await page.getByRole('button', { name: 'Move Tags up' }).click();
  await page.getByRole('button', { name: 'Pin Status' }).click();
  await expect(page.getByRole('button', { name: 'Pin Status' })).toHaveAttribute('aria-pressed', 'true');
  // A column moves within its group: Project (hidden), the first unpinned one, cannot move before the pinned ones.
  await expect(page.getByRole('button', { name: 'Move Project up' })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Move Status up' })).toBeEnabled();
  const layout = ['Selection', 'Name', 'Status', 'Failure', 'Review', 'Created', 'Tags', 'Duration'];
  await expect.poll(() => headers(page)).toEqual(layout);
  await page.keyboard.press('Escape');

  // Pinned cells stay put when the table scrolls sideways; the others move.
  const scroller = page.getByTestId('runs-scroller');
  const firstRow = page.locator('tbody tr[data-run-id]').first();
  const status = firstRow.locator('td[data-col="status"]');
  const review = firstRow.locator('td[data-col="review"]');
  const before = { status: await status.boundingBox(), review: await review.boundingBox() };
  const scrollable = await scroller.evaluate((el) => el.scrollWidth - el.clientWidth);
  expect(scrollable, 'the table is wider than the screen').toBeGreaterThan(50);
  await scroller.evaluate((el) => {
    el.scrollLeft = el.scrollWidth;
  });
  await expect.poll(async () => (await review.boundingBox())?.x).toBeLessThan((before.review?.x ?? 0) - 40);
  expect((await status.boundingBox())?.x).toBe(before.status?.x);
  await expect(firstRow.locator('td[data-col="name"]')).toBeInViewport();

  // A reload finds the same layout in the URL.
  const url = page.url();
  await page.reload();
  await expect(page.getByTestId('runs-count')).toHaveText('40 runs');
  expect(page.url()).toBe(url);
  expect(await headers(page)).toEqual(layout);

  // Density: compact rows show at least 15 runs at 1280x800 once the page scrolls to the table.
  const comfortable = await visibleRows(page);
  await page.getByRole('button', { name: 'Compact rows' }).click();
  await expect(page.getByRole('button', { name: 'Compact rows' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page).toHaveURL(/density=compact/);
  await expect.poll(() => visibleRows(page)).toBeGreaterThanOrEqual(15);
  expect(await visibleRows(page)).toBeGreaterThan(comfortable);
  await page.reload();
  await expect(page.getByTestId('runs-count')).toHaveText('40 runs');
  await expect.poll(() => visibleRows(page)).toBeGreaterThanOrEqual(15);
});

test('series summaries are columns: picked in the chooser, kept in the URL, sorted and exported; a metric with a slash sorts', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const project = `summaries-${stamp()}`;
  const auth = { Authorization: `Bearer ${token}` };
  // Last train/loss: a 0.5, b 0.25, c none; min: a 0.125, b 0.25.
  for (const [name, points, acc] of [
    ['a', [[0, 1], [1, 0.125], [2, 0.5]], 0.9],
    ['b', [[0, 2], [1, 0.25]], 0.7],
    ['c', [], 0.8],
  ] as const) {
    const created = await request.post('/api/runs', {
      headers: auth,
      data: { project, external_id: name, name, status: 'succeeded', metrics: { 'train/acc': acc } },
    });
    expect(created.status(), 'report a run').toBe(201);
    if (points.length > 0) {
      const id = ((await created.json()) as { id: string }).id;
      const appended = await request.post(`/api/runs/${id}/series`, { headers: auth, data: { 'train/loss': points } });
      expect(appended.status(), 'append a series').toBe(200);
    }
  }
  await page.goto('/login');
  await signIn(page, reviewer.email, reviewer.password);
  await page.goto(`/runs?project=${project}`);
  await expect(page.getByTestId('runs-count')).toHaveText('3 runs');

  await page.getByRole('button', { name: 'Columns' }).click();
  const chooser = page.getByRole('combobox', { name: 'Columns' });
  await chooser.fill('last(');
  await page.getByRole('option', { name: 'last("train/loss")' }).click();
  await chooser.fill('min(');
  await page.getByRole('option', { name: 'min("train/loss")' }).click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await expect(page).toHaveURL(/cols=last%28%22train%2Floss%22%29%2Cmin%28%22train%2Floss%22%29/);

  const cells = (key: string) => page.locator(`tbody td[data-col='${key}']`).allTextContents();
  const names = () => page.locator("tbody td[data-col='name']").allTextContents();
  await expect.poll(() => cells('last("train/loss")')).toEqual(['', '0.25', '0.5']);
  expect(await cells('min("train/loss")')).toEqual(['', '0.25', '0.125']);

  // A loss-like summary sorts ascending first; runs without the series follow.
  await page.getByRole('button', { name: 'min("train/loss")', exact: true }).click();
  await expect.poll(names).toEqual(['a', 'b', 'c']);
  await expect(page.locator('th[aria-label=\'min("train/loss")\']')).toHaveAttribute('aria-sort', 'ascending');

  // The layout and the sort come back from the URL.
  await page.reload();
  await expect.poll(names).toEqual(['a', 'b', 'c']);
  await expect.poll(() => cells('last("train/loss")')).toEqual(['0.5', '0.25', '']);

  // The export carries the summary columns as the table shows them.
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const file = await (await download).path();
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  expect(lines[0]?.endsWith(',"last(""train/loss"")","min(""train/loss"")"')).toBe(true);
  expect(lines.slice(1).map((l) => l.split(',').slice(-2).join(' '))).toEqual(['0.5 0.125', '0.25 0.25', ' ']);

  // A metric whose name needs quoting in the query language sorts too.
  await page.goto(`/runs?project=${project}&cols=metrics.train/acc`);
  await page.getByRole('button', { name: 'metrics.train/acc', exact: true }).click();
  await expect.poll(names).toEqual(['a', 'c', 'b']);
  await expect(page.getByRole('alert')).toHaveCount(0);
});

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`in the ${colorScheme} colour scheme`, () => {
  test.use({ colorScheme });
  test(`the runs view with the column chooser open has no WCAG 2.1 A/AA violations (${colorScheme})`, async ({
    page,
    request,
    pageProblems,
  }) => {
    pageProblems.expect(401, refreshUrl, page);
    const reviewer = await createUser(request, 'reviewer');
    const project = await seedRuns(request, await jobToken(request, reviewer), 3);
    await page.goto('/login');
    await signIn(page, reviewer.email, reviewer.password);
    await page.goto(`/runs?project=${project}&cols=metrics.loss&pin=name,status&hide=failure&density=compact`);
    await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
    await expect(page.getByTestId('runs-count')).toHaveText('3 runs');
    await page.getByRole('button', { name: 'Columns' }).click();
    await expect(page.getByRole('checkbox', { name: 'Show metrics.loss' })).toBeChecked();
    await expect(page.getByRole('checkbox', { name: 'Show Failure' })).not.toBeChecked();
    await expectAccessible(page, `the runs view with the column chooser open (${colorScheme})`);
  });
  });
}
