import type { Page } from '@playwright/test';

import { expect, test } from './fixtures';
import { cliLog, cliPush, jobToken, patchRun, pythonJob, stamp } from './jobs';
import { admin, createUser, refreshUrl, signIn } from './support';

/** rowNames lists the names in the runs table's rendered rows, top to bottom. */
async function rowNames(page: Page): Promise<string[]> {
  return page.locator('tbody tr[data-run-id] td a').allTextContents();
}

/** chooseXAxis picks the run page's x axis (kept in the URL). */
async function chooseXAxis(page: Page, name: string): Promise<void> {
  await page.getByRole('combobox', { name: 'X axis' }).click();
  await page.getByRole('option', { name, exact: true }).click();
}

async function applyQuery(page: Page, q: string): Promise<void> {
  const input = page.getByRole('textbox', { name: 'Query' });
  await input.fill(q);
  await input.press('Escape');
  await input.press('Enter');
}

/**
 * Runs from a sweep as jobs report them: three runs pushed with the labreview
 * binary and one long run from the Python client (5,000 points of a loss
 * curve), in a project of their own.
 */
function seedSweep(token: string) {
  const project = `sweep-${stamp()}`;
  const ids: Record<string, string> = {};
  for (const [name, loss, lr] of [
    ['lr-a', 0.3, 0.1],
    ['lr-b', 0.1, 0.01],
    ['lr-c', 0.2, 0.001],
  ] as const) {
    ids[name] = cliPush(token, {
      project,
      external_id: name,
      name,
      status: 'succeeded',
      params: { lr, optimizer: { name: 'adam', beta: 0.9 } },
      metrics: { loss },
    });
  }
  cliLog(token, ids['lr-a'] ?? '', 0, { loss: 2.5 });
  cliLog(token, ids['lr-a'] ?? '', 1, { loss: 1.5 });
  ids['py-long'] = pythonJob(
    token,
    `
import math, labreview
with labreview.Run(${JSON.stringify(project)}, external_id="py-long", name="py-long",
                   params={"lr": 0.05, "optimizer": {"name": "sgd", "beta": 0.9}}) as run:
    for step in range(5000):
        # Replayed at half a second a step: 2,500 s from the first point to the last.
        run.log("loss", 2 * math.exp(-step / 800) + 0.01 * math.sin(step / 7), step, time=1.7e9 + step / 2)
    run.metrics(loss=0.05)
print(run.id)
`,
  );
  return { project, ids };
}

test('a job reports runs; a reviewer filters, sorts by a metric, opens a run, zooms its plot and approves it', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const { project, ids } = seedSweep(token);

  await page.goto('/login');
  await signIn(page, reviewer.email, reviewer.password);
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  await expect(page).toHaveURL(/\/runs$/);

  // The query bar completes a metric name, and the filter lands in the URL.
  const input = page.getByRole('textbox', { name: 'Query' });
  await input.fill(`project = "${project}" and metr`);
  await expect(page.getByRole('option', { name: 'metrics.loss' })).toBeVisible();
  // Tab takes a completion only once the arrows highlight it (review.spec.ts has the rest of the keyboard).
  await input.press('ArrowDown');
  await input.press('Tab');
  await expect(input).toHaveValue(`project = "${project}" and metrics.loss `);
  await input.pressSequentially('< 0.25');
  await input.press('Escape');
  await input.press('Enter');
  await expect(page).toHaveURL(/[?&]q=project/);
  await expect.poll(() => rowNames(page).then((n) => n.sort())).toEqual(['lr-b', 'lr-c', 'py-long']);

  // A syntax error shows the server's message at its column.
  pageProblems.expect(400, /\/api\/runs\?/, page);
  await applyQuery(page, `project = "${project}" and metrics.loss <`);
  await expect(page.getByRole('alert').filter({ hasText: 'The query is not valid' })).toContainText('column');
  await expect(page.getByTestId('query-error-marker')).toBeVisible();
  await applyQuery(page, `project = "${project}" and metrics.loss < 0.25`);
  await expect(page.getByTestId('query-error-marker')).toBeHidden();

  // Add the metric as a column and sort by it: a loss ascending first (lower is better), then descending.
  await page.getByRole('button', { name: 'Columns' }).click();
  await page.getByRole('combobox', { name: 'Columns' }).click();
  await page.getByRole('option', { name: 'metrics.loss' }).click();
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'metrics.loss', exact: true }).click();
  await expect(page).toHaveURL(/sort=metrics\.loss/);
  await expect.poll(() => rowNames(page)).toEqual(['py-long', 'lr-b', 'lr-c']);
  await expect(page.getByRole('columnheader', { name: 'metrics.loss' })).toHaveAttribute('aria-sort', 'ascending');
  await page.getByRole('button', { name: 'metrics.loss', exact: true }).click();
  await expect(page).toHaveURL(/sort=-metrics\.loss/);
  await expect.poll(() => rowNames(page)).toEqual(['lr-c', 'lr-b', 'py-long']);
  await expect(page.getByRole('columnheader', { name: 'metrics.loss' })).toHaveAttribute('aria-sort', 'descending');
  // Back to ascending: the lowest loss, the long run, is first.
  await page.getByRole('button', { name: 'metrics.loss', exact: true }).click();
  await expect.poll(() => rowNames(page)).toEqual(['py-long', 'lr-b', 'lr-c']);

  // Open the first run from the keyboard.
  await page.locator('tbody tr[data-run-id]').first().focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'py-long' })).toBeVisible();
  expect(page.url()).toContain(`/runs/${ids['py-long'] ?? ''}`);

  // The plot draws the downsampled curve; a drag zooms, and the window is fetched again.
  const chart = page.getByTestId('series-chart');
  await expect(chart).toHaveAttribute('data-loading', 'false');
  await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(100);
  const zoomed = page.waitForRequest((r) => /\/series\?.*from=\d+.*to=\d+/.test(r.url()));
  const over = page.locator('.u-over');
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  if (box === null) {
    throw new Error('the chart has no plotting area');
  }
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await zoomed;
  await expect(chart).toHaveAttribute('data-window', /^\d+-\d+$/);
  const [from, to] = ((await chart.getAttribute('data-window')) ?? '').split('-').map(Number);
  expect((to ?? 0) - (from ?? 0)).toBeLessThan(1500);
  await expect(page.getByText(/every point\)/)).toBeVisible();
  // The keyboard moves the cursor and reads the value out.
  await chart.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('chart-cursor')).toContainText(/step \d+: loss \d/);
  await page.getByRole('button', { name: 'Reset zoom' }).click();
  await expect(chart).toHaveAttribute('data-window', '');

  // The x axis shows the time since the first point; a drag over a time
  // range asks for the steps that cover it (0.5 s a step).
  const timed = page.waitForRequest((r) => /\/series\?.*x=time/.test(r.url()));
  await chooseXAxis(page, 'Relative time');
  await timed;
  await expect(chart).toHaveAttribute('data-axis', 'relative');
  await expect(page.locator('.u-legend')).toContainText('time since the first point');
  await chart.focus();
  await page.keyboard.press('End');
  await expect(page.getByTestId('chart-cursor')).toContainText(/time since the first point 41 m (39|40) s \(step 4999\): loss -?\d/);
  const zoomedInTime = page.waitForRequest((r) => /\/series\?.*from=\d+.*to=\d+.*x=time/.test(r.url()));
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await zoomedInTime;
  const [tFrom, tTo] = ((await chart.getAttribute('data-window')) ?? '').split('-').map(Number);
  // A tenth of the width is about 250 s, 500 steps, around step 2,500.
  expect(tFrom).toBeGreaterThan(2000);
  expect(tTo).toBeLessThan(3500);
  expect((tTo ?? 0) - (tFrom ?? 0)).toBeGreaterThan(300);
  await page.getByRole('button', { name: 'Reset zoom' }).click();
  // Wall time: the cursor reads the first point's date (1.7e9 s: November 2023).
  await chooseXAxis(page, 'Wall time');
  await expect(chart).toHaveAttribute('data-axis', 'wall');
  await chart.focus();
  await page.keyboard.press('Home');
  await expect(page.getByTestId('chart-cursor')).toContainText(/^time .*2023.* \(step 0\): loss/);
  await chooseXAxis(page, 'Step');
  await expect(chart).toHaveAttribute('data-axis', 'step');

  // Approve with a comment, and the history shows it.
  await page.getByRole('textbox', { name: 'Comment', exact: true }).fill('Converges as expected');
  await page.getByRole('button', { name: 'Approve' }).click();
  const history = page.getByTestId('review-history');
  await expect(history).toContainText(`Approved by ${reviewer.name}`);
  await expect(history).toContainText('Converges as expected');
  // Rejecting without a comment is refused before anything is sent.
  await page.getByRole('button', { name: 'Reject' }).click();
  await expect(page.getByText('Say why: a comment is required for this verdict')).toBeVisible();

  // Comments that point at a step range and at a param; their links show what they point at.
  await page.getByRole('textbox', { name: 'Add a comment' }).fill('the bump here');
  await page.getByRole('combobox', { name: 'Points at' }).click();
  await page.getByRole('option', { name: 'A step range' }).click();
  await page.getByRole('combobox', { name: 'Series', exact: true }).click();
  await page.getByRole('option', { name: 'loss' }).click();
  await page.getByRole('textbox', { name: 'From step' }).fill('100');
  await page.getByRole('textbox', { name: 'To step' }).fill('200');
  await page.getByRole('button', { name: 'Comment', exact: true }).click();
  await page.getByRole('textbox', { name: 'Add a comment' }).fill('why sgd?');
  await page.getByRole('combobox', { name: 'Points at' }).click();
  await page.getByRole('option', { name: 'A param' }).click();
  await page.getByRole('combobox', { name: 'Param' }).click();
  await page.getByRole('option', { name: 'optimizer.name' }).click();
  await page.getByRole('button', { name: 'Comment', exact: true }).click();
  await page.getByRole('link', { name: 'loss, steps 100–200' }).click();
  await expect(page).toHaveURL(/#series:loss:100-200$/);
  await expect(page.getByTestId('series-chart')).toHaveAttribute('data-window', '100-200');
  await expect(page.getByTestId('series-chart')).toHaveAttribute('data-points', '101');
  await page.getByRole('link', { name: 'param optimizer.name' }).click();
  const param = page.locator('[data-param="optimizer.name"]');
  await expect(param).toBeInViewport();
  await expect(param).toHaveAttribute('data-marked', 'true');
});

test('a reviewer compares two runs, then shares the filtered view; another browser sees the same rows', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl);
  const reviewer = await createUser(request, 'reviewer');
  const viewer = await createUser(request, 'viewer');
  const token = await jobToken(request, reviewer);
  const { project } = seedSweep(token);

  await page.goto('/login');
  await signIn(page, reviewer.email, reviewer.password);
  await page.getByRole('combobox', { name: 'Project' }).click();
  await page.getByRole('option', { name: project }).click();
  await applyQuery(page, 'params.lr >= 0.01');
  await expect.poll(() => rowNames(page).then((n) => n.sort())).toEqual(['lr-a', 'lr-b', 'py-long']);

  await page.getByRole('checkbox', { name: 'Select lr-a' }).check();
  await page.getByRole('checkbox', { name: 'Select lr-b' }).check();
  await page.getByRole('button', { name: 'Compare' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Compare runs' })).toBeVisible();
  const params = page.getByRole('table', { name: 'Params' });
  await expect(params.getByRole('row', { name: /params|lr/ }).first()).toBeVisible();
  await expect(params.locator('tr[data-differs="true"]')).toHaveCount(1);
  await expect(params.locator('tr[data-differs="true"] th')).toContainText('lr');
  await page.getByRole('switch', { name: 'Only the differences' }).check();
  await expect(params.locator('tbody tr')).toHaveCount(1);
  await expect(page.getByRole('table', { name: 'Metrics' })).toContainText('0.3');
  const compareUrl = page.url();
  expect(compareUrl).toMatch(/\/compare\?ids=[^,]+,[^,]+$/);

  // Back to the view, and its link opened by someone else in another browser.
  await page.goBack();
  await expect.poll(() => rowNames(page).then((n) => n.sort())).toEqual(['lr-a', 'lr-b', 'py-long']);
  const shared = page.url();
  const other = await pageProblems.newContext();
  const second = await other.newPage();
  pageProblems.expect(401, refreshUrl, second);
  await second.goto(shared);
  await signIn(second, viewer.email, viewer.password);
  await expect(second).toHaveURL(shared);
  await expect.poll(() => rowNames(second)).toEqual(await rowNames(page));
  await expect(second.getByRole('textbox', { name: 'Query' })).toHaveValue('params.lr >= 0.01');
  // The comparison link works there too.
  await second.goto(compareUrl);
  await expect(second.getByRole('table', { name: 'Params' }).locator('tr[data-differs="true"]')).toHaveCount(1);
});

test('a saved review queue: bulk review with undo, then approve and walk on with Next', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const { project } = seedSweep(token);

  await page.goto(`/runs?project=${project}&review=unreviewed`);
  await signIn(page, reviewer.email, reviewer.password);
  await expect.poll(() => rowNames(page).then((n) => n.length)).toBe(4);

  // Save the view; it is on the server, so it is there after a reload.
  await page.getByRole('textbox', { name: 'Save this view as' }).fill(`queue ${project}`);
  await page.getByRole('button', { name: 'Save view' }).click();
  await expect(page.getByRole('button', { name: 'Saved views (1)' })).toBeVisible();
  await page.goto('/runs');
  await page.getByRole('button', { name: 'Saved views (1)' }).click();
  await page.getByRole('menuitem', { name: `queue ${project}`, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`project=${project}&review=unreviewed`));
  await expect.poll(() => rowNames(page).then((n) => n.length)).toBe(4);

  // Bulk: reject two with a comment, then undo the batch.
  await page.getByRole('checkbox', { name: 'Select lr-a' }).check();
  await page.getByRole('checkbox', { name: 'Select lr-c' }).check();
  await page.getByRole('combobox', { name: 'Verdict for the selected runs' }).click();
  await page.getByRole('option', { name: 'Rejected' }).click();
  await expect(page.getByRole('button', { name: 'Review 2 runs' })).toBeDisabled();
  await page.getByRole('textbox', { name: 'Comment (required)' }).fill('diverged');
  await page.getByRole('button', { name: 'Review 2 runs' }).click();
  await expect(page.getByTestId('bulk-review-result')).toContainText('2 runs reviewed');
  await expect.poll(() => rowNames(page).then((n) => n.sort())).toEqual(['lr-b', 'py-long']);
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByText(/Undone: 2 runs have the verdict they had before/)).toBeVisible();
  await expect.poll(() => rowNames(page).then((n) => n.length)).toBe(4);

  // The queue: approve the first run, and Next opens the one that took its place.
  const [first = '', second = ''] = await rowNames(page);
  await page.getByRole('link', { name: first }).click();
  await expect(page.getByRole('heading', { level: 1, name: first })).toBeVisible();
  await expect(page.getByTestId('queue-nav')).toContainText('1 of 4');
  await page.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('review-history')).toContainText('Approved');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { level: 1, name: second })).toBeVisible();
  await expect(page.getByTestId('queue-nav')).toContainText('1 of 3');
});

test('a viewer sees no review, delete or bulk controls', async ({ page, request, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const viewer = await createUser(request, 'viewer');
  const token = await jobToken(request, reviewer);
  const project = `viewer-${stamp()}`;
  cliPush(token, { project, external_id: 'one', name: 'only-run', status: 'succeeded', notes: 'hello' });

  await page.goto(`/runs?project=${project}`);
  await signIn(page, viewer.email, viewer.password);
  await expect.poll(() => rowNames(page)).toEqual(['only-run']);
  await page.getByRole('checkbox', { name: 'Select only-run' }).check();
  await expect(page.getByText('1 selected')).toBeVisible();
  await expect(page.getByRole('button', { name: /^Review \d+ run/ })).toHaveCount(0);
  await page.getByRole('link', { name: 'only-run' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'only-run' })).toBeVisible();
  await expect(page.getByTestId('review-history')).toHaveCount(0);
  await expect(page.getByText('No verdict yet.')).toBeVisible();
  for (const name of ['Approve', 'Reject', 'Needs rerun', 'Take back', 'Delete run', 'Edit notes']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0);
  }
  // Viewers comment.
  await page.getByRole('textbox', { name: 'Add a comment' }).fill('Looks fine to me');
  await page.getByRole('button', { name: 'Comment', exact: true }).click();
  await expect(page.getByRole('article', { name: `Comment by ${viewer.name}` })).toContainText('Looks fine to me');
});

test('text from jobs renders as text: a note with markup shows its characters', async ({ page, request, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const project = `xss-${stamp()}`;
  const markup = '<img src=x onerror=alert(1)>';
  const id = cliPush(token, {
    project,
    external_id: 'xss',
    name: `<b>bold</b> run`,
    notes: markup,
    tags: ['<i>tag</i>'],
    params: { '<script>': '<svg onload=alert(2)>' },
  });
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs += 1;
    void d.dismiss();
  });

  await page.goto(`/runs/${id}`);
  await signIn(page, reviewer.email, reviewer.password);
  await expect(page.getByTestId('run-notes')).toHaveText(markup);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('<b>bold</b> run');
  await expect(page.getByText('<svg onload=alert(2)>')).toBeVisible();
  await expect(page.locator('main img, main b, main svg[onload]')).toHaveCount(0);
  await page.goto(`/runs?project=${project}`);
  await expect.poll(() => rowNames(page)).toEqual(['<b>bold</b> run']);
  await expect(page.getByRole('cell', { name: '<i>tag</i>' })).toBeVisible();
  expect(dialogs).toBe(0);
});

test('a running run updates in the table and on its page without a reload', async ({ page, request, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const project = `live-${stamp()}`;
  const id = cliPush(token, { project, external_id: 'live', name: 'live-run', status: 'running' });

  await page.goto(`/runs?project=${project}&cols=metrics.loss`);
  await signIn(page, reviewer.email, reviewer.password);
  const row = page.locator(`tr[data-run-id="${id}"]`);
  await expect(row).toContainText('running');
  await patchRun(request, token, id, { status: 'succeeded', metrics: { loss: 0.125 } });
  await expect(row).toContainText('succeeded', { timeout: 15_000 });
  await expect(row).toContainText('0.125');

  const second = cliPush(token, { project, external_id: 'live-2', name: 'live-2', status: 'running' });
  await page.goto(`/runs/${second}`);
  await expect(page.getByTestId('run-summary')).toContainText('running');
  await patchRun(request, token, second, { status: 'failed' });
  await expect(page.getByTestId('run-summary')).toContainText('failed', { timeout: 15_000 });
});

test('the first page after sign-in stays under 250 KB gzip; plots load on demand', async ({ page, request, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  const viewer = await createUser(request, 'viewer');
  await page.goto('/login');
  await signIn(page, viewer.email, viewer.password);
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  // A fresh load of the runs page with the browser cache off, as after sign-in
  // on a new machine, asking for gzip only (the server prefers Brotli, which
  // is smaller): what crosses the wire, headers included.
  const client = await page.context().newCDPSession(page);
  await client.send('Network.enable');
  await client.send('Network.setCacheDisabled', { cacheDisabled: true });
  await client.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': 'gzip' } });
  const bytes = new Map<string, number>();
  const urls = new Map<string, string>();
  const encodings = new Map<string, string>();
  client.on('Network.requestWillBeSent', (e: { requestId: string; request: { url: string } }) => {
    urls.set(e.requestId, e.request.url);
  });
  client.on('Network.responseReceived', (e: { requestId: string; response: { headers: Record<string, string> } }) => {
    encodings.set(e.requestId, e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '');
  });
  client.on('Network.loadingFinished', (e: { requestId: string; encodedDataLength: number }) => {
    bytes.set(e.requestId, e.encodedDataLength);
  });
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  await page.waitForLoadState('networkidle');
  let total = 0;
  const assets: string[] = [];
  for (const [id, url] of urls) {
    if (!url.includes('/api/')) {
      total += bytes.get(id) ?? 0;
      assets.push(url);
      // gzip, or as is for files too small to compress; never Brotli.
      expect(['gzip', ''], url).toContain(encodings.get(id) ?? '');
    }
  }
  console.log(`first page: ${String(total)} bytes gzip over the wire (${assets.map((a) => a.split('/').pop() ?? a).join(', ')})`);
  expect(total).toBeGreaterThan(100 * 1024);
  expect(total).toBeLessThanOrEqual(250_000);
  expect(assets.some((a) => /series-chart|uPlot/.test(a))).toBe(false);
});

test('a reviewer sets the project baseline; an admin deletes and restores a run', async ({ page, request, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const project = `baseline-${stamp()}`;
  const base = cliPush(token, {
    project,
    external_id: 'base',
    name: 'reference',
    status: 'succeeded',
    params: { lr: 0.1 },
    metrics: { loss: 0.2 },
  });
  const other = cliPush(token, {
    project,
    external_id: 'other',
    name: 'candidate',
    status: 'succeeded',
    params: { lr: 0.2 },
    metrics: { loss: 0.1 },
  });

  await page.goto(`/runs/${base}`);
  await signIn(page, reviewer.email, reviewer.password);
  await expect(page.getByRole('button', { name: 'Make this the project baseline' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('button', { name: 'Make this the project baseline' }).click();
  await expect(page.getByTestId('baseline-badge')).toBeVisible();

  await page.goto(`/runs/${other}`);
  const baseline = page.getByTestId('baseline');
  await expect(baseline.getByRole('link', { name: 'reference' })).toBeVisible();
  await expect(baseline.getByRole('table', { name: 'Params that differ from the baseline' })).toContainText('lr');
  await expect(baseline.getByRole('table', { name: 'Metrics against the baseline' })).toContainText('-0.1');
  await baseline.getByRole('link', { name: 'reference' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'reference' })).toBeVisible();

  // Reviewers cannot delete; an admin can, and restores.
  await expect(page.getByRole('button', { name: 'Delete run' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, admin.email, admin.password);
  await page.goto(`/runs/${other}`);
  await page.getByRole('button', { name: 'Delete run' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete run' }).click();
  await expect(page.getByTestId('deleted-banner')).toBeVisible();
  await page.goto(`/runs?project=${project}`);
  await expect.poll(() => rowNames(page)).toEqual(['reference']);
  await page.goto(`/runs/${other}`);
  await page.getByRole('button', { name: 'Restore run' }).click();
  await expect(page.getByTestId('deleted-banner')).toBeHidden();
});
