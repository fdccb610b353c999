import type { APIRequestContext, Page } from '@playwright/test';

import { expect, test } from './fixtures';
import { admin, createApiToken, createUser, refreshUrl, signIn } from './support';

/** listRuns calls the API as a job does, with an API token, and returns the status. */
async function listRuns(request: APIRequestContext, token: string): Promise<number> {
  const response = await request.get('/api/runs', { headers: { Authorization: `Bearer ${token}` } });
  return response.status();
}

const tokensTable = (page: Page) => page.getByTestId('tokens-table');
const tokenRow = (page: Page, name: string) => tokensTable(page).locator('tr', { hasText: name });

test('a reviewer creates a token, sees it once, a job uses it, and after revoking it the API refuses it', async ({
  page,
  context,
  pageProblems,
  request,
  baseURL,
}) => {
  const reviewer = await createUser(request, 'reviewer');
  const name = `cluster ${reviewer.name}`;
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  pageProblems.expect(401, refreshUrl, page);
  await page.goto('/login');
  await signIn(page, reviewer.email, reviewer.password);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API tokens' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'API tokens' })).toBeVisible();

  await page.getByRole('button', { name: 'New token' }).click();
  const form = page.getByRole('dialog', { name: 'New API token' });
  await form.getByLabel(/^Name/).fill(name);
  await expect(form.getByRole('checkbox', { name: /runs:read/ })).toBeChecked();
  await expect(form.getByRole('checkbox', { name: /runs:write/ })).toBeChecked();
  await form.getByLabel(/^Expires after/).fill('7');
  await form.getByRole('button', { name: 'Create token' }).click();

  // The reveal: the secret once, with the lines a job needs.
  const reveal = page.getByRole('dialog', { name: `Your new token: ${name}` });
  await expect(reveal.getByText('Copy the token now: it is shown only once')).toBeVisible();
  const secret = (await reveal.getByTestId('new-token-secret').textContent()) ?? '';
  expect(secret).toMatch(/^lrt_[A-Za-z0-9_-]{43}$/);
  await expect(reveal.getByTestId('new-token-shell')).toHaveText(`export LABREVIEW_URL=${baseURL ?? ''} LABREVIEW_TOKEN=${secret}`);
  await expect(reveal.getByTestId('new-token-python')).toContainText('with labreview.Run(');
  await reveal.getByRole('button', { name: 'Copy token' }).click();
  await expect(reveal.getByRole('button', { name: 'Copied token' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // The token works against the API, as a job would use it.
  expect(await listRuns(request, secret)).toBe(200);

  await reveal.getByRole('button', { name: 'I have copied it' }).click();
  await expect(reveal).toBeHidden();
  // Shown once: neither the page nor a fresh load of the list has it again.
  await expect(page.getByText(secret)).toHaveCount(0);
  await page.reload();
  const row = tokenRow(page, name);
  await expect(row).toContainText(`ends in …${secret.slice(-4)}`);
  await expect(row).toContainText('runs:read');
  await expect(row).toContainText('runs:write');
  await expect(row).toContainText('All projects');
  await expect(row).toContainText('Active');
  await expect(row).toContainText('in 7 days');
  await expect(row).not.toContainText('never'); // it was used a moment ago
  expect(await page.content()).not.toContain(secret);

  // Revoke, after confirming; the API refuses the token at once.
  await row.getByRole('button', { name: `Revoke ${name}` }).click();
  const confirm = page.getByRole('dialog', { name: `Revoke ${name}?` });
  await confirm.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByRole('status').filter({ hasText: `${name} was revoked.` })).toBeVisible();
  await expect(row).toContainText('Revoked');
  await expect(row.getByRole('button', { name: `Revoke ${name}` })).toHaveCount(0);
  expect(await listRuns(request, secret)).toBe(401);
});

test('an admin sees another user’s token with its owner, and can revoke it', async ({ page, pageProblems, request }) => {
  const reviewer = await createUser(request, 'reviewer');
  const name = `nightly ${reviewer.name}`;
  const job = await createApiToken(request, reviewer, { name, scopes: ['runs:write'], projects: ['sweep-12'] });

  pageProblems.expect(401, refreshUrl, page);
  await page.goto('/tokens');
  await signIn(page, admin.email, admin.password);

  await expect(tokensTable(page).getByRole('columnheader', { name: 'Owner' })).toBeVisible();
  const row = tokenRow(page, name);
  await expect(row).toContainText(reviewer.name);
  await expect(row).toContainText(reviewer.email);
  await expect(row).toContainText('sweep-12');
  await expect(row).toContainText('never');
  expect(await listRuns(request, job.token)).toBe(403); // runs:write only: reading is out of its scope

  await row.getByRole('button', { name: `Revoke ${name}` }).click();
  await page.getByRole('dialog', { name: `Revoke ${name}?` }).getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('Revoked');
  expect(await listRuns(request, job.token)).toBe(401);
});

test('a viewer is offered only runs:read, and their token reads but does not write', async ({
  page,
  pageProblems,
  request,
}) => {
  const viewer = await createUser(request, 'viewer');
  const name = `read-only ${viewer.name}`;
  pageProblems.expect(401, refreshUrl, page);
  await page.goto('/tokens');
  await signIn(page, viewer.email, viewer.password);

  await page.getByRole('button', { name: 'New token' }).click();
  const form = page.getByRole('dialog', { name: 'New API token' });
  const scopes = form.getByRole('group', { name: /Scopes/ });
  await expect(scopes.getByRole('checkbox')).toHaveCount(1);
  await expect(scopes.getByRole('checkbox', { name: /runs:read/ })).toBeChecked();
  await expect(form.getByText('runs:write')).toHaveCount(0);
  await form.getByLabel(/^Name/).fill(name);
  await form.getByRole('button', { name: 'Create token' }).click();

  const reveal = page.getByRole('dialog', { name: `Your new token: ${name}` });
  const secret = (await reveal.getByTestId('new-token-secret').textContent()) ?? '';
  await expect(reveal.getByTestId('new-token-python')).toContainText('client.request("GET", "/api/runs');
  expect(await listRuns(request, secret)).toBe(200);
  const write = await request.post('/api/runs', {
    headers: { Authorization: `Bearer ${secret}` },
    data: { project: 'viewer-project' },
  });
  expect(write.status()).toBe(403);
  await reveal.getByRole('button', { name: 'I have copied it' }).click();
  await expect(tokenRow(page, name)).toContainText('runs:read');
  await expect(tokenRow(page, name)).not.toContainText('runs:write');
});
