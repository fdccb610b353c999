import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Page } from '@playwright/test';

import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { cliPush, jobToken, patchRun, stamp } from './jobs';
import { apiToken, createApiToken, createUser, password, refreshUrl, signIn } from './support';

/** rowNames lists the names in the runs table's rendered rows, top to bottom. */
async function rowNames(page: Page): Promise<string[]> {
  return page.locator('tbody tr[data-run-id] td a').allTextContents();
}

/** bothSchemes runs axe on the page as it is, in the dark and the light colour scheme. */
async function accessibleInBothSchemes(page: Page, what: string): Promise<void> {
  for (const colorScheme of ['dark', 'light'] as const) {
    await page.emulateMedia({ colorScheme });
    await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
    await expectAccessible(page, `${what} (${colorScheme})`);
  }
}

test('the query bar: no list on focus, Tab passes through unchanged, Enter keeps the focus, hints show', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const token = await jobToken(request, reviewer);
  const project = `kb-${stamp()}`;
  cliPush(token, { project, external_id: 'a', name: 'kb-a', status: 'failed', metrics: { loss: 0.5 } });
  cliPush(token, { project, external_id: 'b', name: 'kb-b', status: 'succeeded', metrics: { loss: 0.1 } });

  await page.goto(`/runs?project=${project}`);
  await signIn(page, reviewer.email, reviewer.password);
  await expect.poll(() => rowNames(page).then((n) => n.length)).toBe(2);

  const input = page.getByRole('textbox', { name: 'Query' });
  await input.fill('status = failed');
  await input.press('Escape');
  await input.press('Enter');
  await expect(page).toHaveURL(/[?&]q=status/);
  await expect.poll(() => rowNames(page)).toEqual(['kb-a']);
  // After Enter the focus stays in the bar (WCAG 2.4.3), and no list is open.
  await expect(input).toBeFocused();
  await expect(page.getByRole('listbox')).toBeHidden();

  // Tabbing in and out changes nothing: the list does not open on focus, and Tab leaves.
  await page.getByRole('button', { name: 'Apply' }).focus();
  await page.keyboard.press('Shift+Tab');
  await expect(input).toBeFocused();
  await expect(page.getByRole('listbox')).toBeHidden();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Apply' })).toBeFocused();
  await expect(input).toHaveValue('status = failed');

  // Typing opens the list; Tab without a highlighted option still leaves the text alone.
  await input.press('End');
  await input.pressSequentially(' and metr');
  await expect(page.getByRole('option', { name: 'metrics.loss' })).toBeVisible();
  await input.press('Tab');
  await expect(input).toHaveValue('status = failed and metr');
  await expect(page.getByRole('button', { name: 'Apply' })).toBeFocused();

  // An explicit key opens it: ArrowDown, or Ctrl+Space; arrows then Tab take an option.
  await input.focus();
  await expect(page.getByRole('listbox')).toBeHidden();
  await input.press('Control+Space');
  await expect(page.getByRole('option', { name: 'metrics.loss' })).toBeVisible();
  await input.press('Escape');
  await expect(page.getByRole('listbox')).toBeHidden();
  await input.press('ArrowDown');
  await expect(page.getByRole('option', { name: 'metrics.loss' })).toBeVisible();
  await input.press('ArrowDown');
  await input.press('Tab');
  await expect(input).toHaveValue('status = failed and metrics.loss ');
  await expect(input).toBeFocused();

  // A name no run has: the server's hint shows under the bar, in a status region.
  await input.fill('metrics.los < 1');
  await input.press('Escape');
  await input.press('Enter');
  const hints = page.getByRole('status', { name: 'Query hints' });
  await expect(hints).toContainText('No run here has metrics.los. Did you mean metrics.loss?');
  await expect(input).toBeFocused();
  await accessibleInBothSchemes(page, 'runs with query hints');
  await input.fill('metrics.loss < 1');
  await input.press('Escape');
  await input.press('Enter');
  await expect.poll(() => rowNames(page).then((n) => n.sort())).toEqual(['kb-a', 'kb-b']);
  await expect(hints).toBeEmpty();
});

test('the run page: names instead of ids, bulk only for a batch of several runs, tags, the failure reason', async ({
  page,
  request,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const tokenName = `e2e job ${stamp()}`;
  const { token } = await createApiToken(request, reviewer, { name: tokenName, scopes: ['runs:read', 'runs:write'], expires_in_days: 1 });
  const project = `rv-${stamp()}`;
  const one = cliPush(token, { project, external_id: 'one', name: 'rv-one', status: 'succeeded', metrics: { loss: 0.1 } });
  const two = cliPush(token, { project, external_id: 'two', name: 'rv-two', status: 'succeeded' });
  const failed = cliPush(token, { project, external_id: 'bad', name: 'rv-bad', status: 'running' });
  await patchRun(request, token, failed, {
    status: 'failed',
    failure: { reason: 'FloatingPointError: loss is NaN at step 1200', detail: 'Traceback (most recent call last):\n  <b>x</b>' },
  });

  // The failure reason is a column of the table.
  await page.goto(`/runs?project=${project}`);
  await signIn(page, reviewer.email, reviewer.password);
  await expect.poll(() => rowNames(page).then((n) => n.length)).toBe(3);
  const badRow = page.locator(`tr[data-run-id="${failed}"]`);
  await expect(badRow).toContainText('FloatingPointError: loss is NaN at step 1200');
  await expect(page.getByRole('columnheader', { name: 'Failure' })).toBeVisible();

  // ... and on the run's page, with its detail as text.
  await page.goto(`/runs/${failed}`);
  await expect(page.getByRole('heading', { level: 1, name: 'rv-bad' })).toBeVisible();
  await expect(page.getByTestId('failure')).toContainText('Why it failed');
  await expect(page.getByTestId('failure-reason')).toHaveText('FloatingPointError: loss is NaN at step 1200');
  await expect(page.getByRole('region', { name: 'Failure detail' })).toContainText('<b>x</b>');
  await accessibleInBothSchemes(page, 'a failed run');

  // One verdict on one run: not bulk. Names instead of ids.
  await page.goto(`/runs/${one}`);
  await expect(page.getByRole('heading', { level: 1, name: 'rv-one' })).toBeVisible();
  const summary = page.getByTestId('run-summary');
  await expect(summary).toContainText(`${reviewer.name}, with the API token “${tokenName}”`);
  await expect(summary).not.toContainText(reviewer.id);
  await page.getByRole('button', { name: 'Approve' }).click();
  const history = page.getByTestId('review-history');
  await expect(history).toContainText(`Approved by ${reviewer.name}`);
  await expect(history).not.toContainText('bulk');

  // A bulk review of two runs reads as one.
  const access = await apiToken(request, reviewer.email);
  const bulk = await request.post('/api/runs/review', {
    headers: { Authorization: `Bearer ${access}` },
    data: { ids: [one, two], state: 'needs_rerun', comment: 'rerun with seed 2' },
  });
  expect(bulk.status()).toBe(200);
  await page.reload();
  await expect(history.locator('li').first()).toContainText('Needs rerun');
  await expect(history.locator('li').first()).toContainText('(bulk review of 2 runs)');
  await expect(history.locator('li').nth(1)).not.toContainText('bulk');

  // A reviewer edits the tags.
  const tags = page.getByTestId('run-tags');
  await expect(tags).toContainText('none');
  await page.getByRole('button', { name: 'Edit tags' }).click();
  const tagsInput = page.getByRole('combobox', { name: 'Tags' });
  await tagsInput.fill('seed-2');
  await tagsInput.press('Enter');
  await tagsInput.fill('needs <check>');
  await tagsInput.press('Enter');
  await accessibleInBothSchemes(page, 'the run page editing tags');
  await page.getByRole('button', { name: 'Save tags' }).click();
  await expect(tags).toContainText('seed-2');
  await expect(tags).toContainText('needs <check>');
  const stored = (await (
    await request.get(`/api/runs/${one}`, { headers: { Authorization: `Bearer ${token}` } })
  ).json()) as { tags: string[] };
  expect(stored.tags).toEqual(['seed-2', 'needs <check>']);
  await page.reload();
  await expect(page.getByTestId('run-tags')).toContainText('needs <check>');
  await accessibleInBothSchemes(page, 'the run page');
});

test('a viewer cannot edit tags', async ({ page, request, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  const reviewer = await createUser(request, 'reviewer');
  const viewer = await createUser(request, 'viewer');
  const id = cliPush(await jobToken(request, reviewer), { project: `vt-${stamp()}`, external_id: 'x', name: 'vt', tags: ['kept'] });
  await page.goto(`/runs/${id}`);
  await signIn(page, viewer.email, viewer.password);
  await expect(page.getByTestId('run-tags')).toContainText('kept');
  await expect(page.getByRole('button', { name: 'Edit tags' })).toHaveCount(0);
});

/**
 * A fresh install has no runs: the runs page says how to make a token and
 * push a first run. It needs a server without runs, so this test starts its
 * own labreview on another port and a fresh data folder, and runs the
 * commands the page offers to copy.
 */
test('a fresh install shows how to push a first run, and the commands it offers work', async ({ page, request, pageProblems }) => {
  const port = Number(process.env['E2E_PORT'] ?? '18473') + 2;
  const origin = `http://127.0.0.1:${String(port)}`;
  const binary = process.env['LABREVIEW_BIN'] ?? '../bin/labreview';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'labreview-e2e-fresh-'));
  const env = { ...process.env, LABREVIEW_SERVER_ADDR: `127.0.0.1:${String(port)}`, LABREVIEW_DATA_DIR: dataDir, LABREVIEW_LOG_LEVEL: 'warn' };
  const server: ChildProcess = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await expect.poll(async () => (await request.get(`${origin}/readyz`).catch(() => null))?.status(), { timeout: 30_000 }).toBe(200);
    execFileSync(binary, ['user', 'create', '--email', 'first@e2e.test', '--name', 'First Admin', '--role', 'admin', '--password-stdin'], {
      input: `${password}\n`,
      env,
    });
    pageProblems.expect(401, refreshUrl, page);
    await page.goto(`${origin}/login`);
    await signIn(page, 'first@e2e.test');
    const card = page.getByTestId('first-run');
    await expect(card.getByRole('heading', { name: 'No runs yet: push a first one' })).toBeVisible();
    await expect(card.getByRole('link', { name: 'API tokens' })).toHaveAttribute('href', '/tokens');
    await accessibleInBothSchemes(page, 'the runs page of a fresh install');

    // Run the commands as shown, with a token made as step 1 says.
    const login = await request.post(`${origin}/api/auth/login`, { form: { username: 'first@e2e.test', password } });
    const access = ((await login.json()) as { access_token: string }).access_token;
    const made = await request.post(`${origin}/api/tokens`, {
      headers: { Authorization: `Bearer ${access}` },
      data: { name: 'first job', scopes: ['runs:read', 'runs:write'] },
    });
    expect(made.status()).toBe(201);
    const secret = ((await made.json()) as { token: string }).token;
    const envLine = (await page.getByTestId('first-run-env').textContent()) ?? '';
    const push = (await page.getByTestId('first-run-push').textContent()) ?? '';
    expect(envLine).toContain(`LABREVIEW_URL=${origin}`);
    const script = `${envLine.replace(/lrt_…\s+#.*$/, secret)}\n${push}\n`;
    execFileSync('sh', ['-c', `set -eu\n${script}`], { env: { PATH: process.env['PATH'] ?? '' } });

    await page.reload();
    await expect.poll(() => rowNames(page)).toEqual(['first run']);
    await expect(card).toBeHidden();
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
