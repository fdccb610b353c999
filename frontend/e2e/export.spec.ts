import { readFile } from 'node:fs/promises';

import type { Download, Page } from '@playwright/test';

import { expect, test } from './fixtures';
import { cliLog, cliPush, jobToken, stamp } from './jobs';
import { createUser, refreshUrl, signIn } from './support';

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const started = page.waitForEvent('download');
  await click();
  const download: Download = await started;
  const file = await download.path();
  return { name: download.suggestedFilename(), text: await readFile(file, 'utf8') };
}

test('Export CSV saves every run of the view with the table columns, and a run its plotted series', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const project = `export-${stamp()}`;
  const ids: string[] = [];
  for (const [name, lr, loss] of [
    ['=cmd', 0.1, 0.3],
    ['plain', 2.5, 0.1],
  ] as const) {
    ids.push(cliPush(token, { project, external_id: name, name, status: 'succeeded', params: { lr }, metrics: { loss } }));
  }
  for (const step of [0, 1, 2]) {
    cliLog(token, ids[1] ?? '', step, { 'train/loss': 1 / (step + 1) });
  }

  const viewer = await createUser(request, 'viewer');
  await page.goto('/login');
  await signIn(page, viewer.email, viewer.password);
  await page.goto(`/runs?project=${project}&cols=params.lr,metrics.loss&sort=metrics.loss`);
  await expect(page.getByTestId('runs-count')).toHaveText(/^2 runs/);

  const runs = await downloaded(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
  expect(runs.name).toBe('runs.csv');
  const lines = runs.text.trim().split(/\r?\n/);
  expect(lines[0]).toBe('id,name,project,status,failure,review,created,duration,tags,params.lr,metrics.loss');
  // In the view's order (loss ascending); a name a spreadsheet would run
  // as a formula is defused.
  expect(lines.slice(1).map((l) => l.split(',').filter((_, i) => [1, 9, 10].includes(i)).join(' '))).toEqual([
    'plain 2.5 0.1',
    "'=cmd 0.1 0.3",
  ]);
  expect(lines[1]?.startsWith(`${ids[1] ?? ''},`)).toBe(true);

  await page.goto(`/runs/${ids[1] ?? ''}`);
  const series = await downloaded(page, () => page.getByRole('button', { name: 'Export these series as CSV' }).click());
  expect(series.name).toBe('plain-series.csv');
  const points = series.text.trim().split(/\r?\n/);
  expect(points[0]).toBe('series,step,value,time');
  expect(points.slice(1).map((l) => l.split(',').slice(0, 3).join(' '))).toEqual([
    'train/loss 0 1',
    'train/loss 1 0.5',
    'train/loss 2 0.3333333333333333',
  ]);
});
