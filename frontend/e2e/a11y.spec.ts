import type { Page } from '@playwright/test';

import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { admin, createApiToken, createUser, refreshUrl, reportRun, signIn, signInHeading } from './support';

/**
 * Every page and the dialogs worth checking, audited by axe-core against WCAG
 * 2.1 A and AA, in the light and the dark colour scheme (the app follows the
 * system's, defaultColorScheme "auto"). Zero violations; a failure prints each
 * broken rule with its elements. The setup form, which needs a server without
 * an admin, is audited in setup.spec.ts.
 */

const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

async function openPage(page: Page, link: string, heading: string) {
  await nav(page).getByRole('link', { name: link, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`in the ${colorScheme} colour scheme`, () => {
    test.use({ colorScheme });

    test('the public pages have no WCAG 2.1 A/AA violations', async ({ page, pageProblems }) => {
      pageProblems.expect(401, refreshUrl, page);
      pageProblems.expect(401, /\/api\/auth\/login$/, page);

      await page.goto('/login');
      await expect(signInHeading(page)).toBeVisible();
      await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
      await expectAccessible(page, 'sign-in');

      // A failed sign-in (an unknown account, so no one's attempts are used up).
      await page.getByLabel('Email').fill(`nobody-${colorScheme}@e2e.test`);
      await page.getByLabel(/^Password/).fill('not-the-password-at-all');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert')).toBeVisible();
      await expectAccessible(page, 'sign-in with an error');

      // First-run setup once an admin exists.
      await page.goto('/setup');
      await expect(page.getByText('Setup is done')).toBeVisible();
      await expectAccessible(page, 'setup (done)');
    });

    /** signInAsAdmin signs in on `path` and checks the scheme the page follows. */
    async function signInAsAdmin(page: Page, path: string) {
      await page.goto(path);
      await signIn(page, admin.email, admin.password);
      await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
    }

    test('the runs, status, projects and not-found pages have no WCAG 2.1 A/AA violations', async ({
      page,
      pageProblems,
      request,
    }) => {
      // A project to list: a reviewer's job reported a run.
      const reviewer = await createUser(request, 'reviewer');
      const job = await createApiToken(request, reviewer, { name: 'a11y job', scopes: ['runs:read', 'runs:write'] });
      await reportRun(request, job.token, { project: `a11y-${colorScheme}`, status: 'running' });
      pageProblems.expect(401, refreshUrl, page);
      await signInAsAdmin(page, '/login');

      await expect(page.locator('tr[data-run-id]').first()).toBeVisible();
      await expectAccessible(page, 'runs');
      // The completions open, a selection shows the bulk review form, a bad query its error.
      await page.getByRole('textbox', { name: 'Query' }).fill('sta');
      await expect(page.getByRole('option', { name: 'status' })).toBeVisible();
      await expectAccessible(page, 'runs with completions');
      await page.getByRole('textbox', { name: 'Query' }).press('Escape');
      await page.locator('tr[data-run-id] input[type="checkbox"]').first().check();
      await expect(page.getByRole('button', { name: /^Review 1 run/ })).toBeVisible();
      await expectAccessible(page, 'runs with a selection');
      pageProblems.expect(400, /\/api\/runs\?/, page);
      await page.getByRole('textbox', { name: 'Query' }).fill('status =');
      await page.getByRole('textbox', { name: 'Query' }).press('Enter');
      await expect(page.getByTestId('query-error-marker')).toBeVisible();
      await expectAccessible(page, 'runs with a query error');

      await openPage(page, 'Server status', 'Server status');
      await expect(page.locator('dt', { hasText: /^Database$/ }).locator('+ dd')).toHaveText('Up');
      await expectAccessible(page, 'status');

      await openPage(page, 'Projects', 'Projects');
      await expect(page.getByRole('link', { name: `a11y-${colorScheme}` })).toBeVisible();
      await expectAccessible(page, 'projects');

      await page.goto('/no/such/page');
      await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
      await expectAccessible(page, 'not found');
    });

    test('a run page (plot, files, review, comments) and compare have no WCAG 2.1 A/AA violations', async ({
      page,
      pageProblems,
      request,
    }) => {
      const reviewer = await createUser(request, 'reviewer');
      const job = await createApiToken(request, reviewer, { name: 'a11y plots', scopes: ['runs:read', 'runs:write'] });
      const auth = { Authorization: `Bearer ${job.token}` };
      const ids: string[] = [];
      for (const lr of [0.1, 0.2]) {
        const created = await request.post('/api/runs', {
          headers: auth,
          data: {
            project: `a11y-plots-${colorScheme}`,
            external_id: `lr-${String(lr)}`,
            status: 'succeeded',
            params: { lr, model: { depth: 4 } },
            metrics: { loss: lr / 2 },
            notes: 'checked by hand',
          },
        });
        const id = ((await created.json()) as { id: string }).id;
        ids.push(id);
        const points = Array.from({ length: 500 }, (_, i) => [i, Math.exp(-i / (100 * lr))]);
        expect((await request.post(`/api/runs/${id}/series`, { headers: auth, data: { loss: points } })).status()).toBe(200);
      }
      // Files: an image and a table, shown in the page's Files section.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
      for (const [path, data] of [['plots/loss.png', png], ['metrics.csv', Buffer.from('step,loss\n1,0.5\n2,0.25\n')]] as const) {
        expect((await request.put(`/api/runs/${ids[0] ?? ''}/files/${path}`, { headers: auth, data })).status()).toBe(200);
      }
      pageProblems.expect(401, refreshUrl, page);
      await signInAsAdmin(page, `/runs/${ids[0] ?? ''}`);
      await expect(page.getByTestId('series-chart')).toHaveAttribute('data-loading', 'false');
      await page.getByRole('button', { name: 'Show plots/loss.png' }).click();
      await expect(page.getByRole('img', { name: 'plots/loss.png' })).toBeVisible();
      await page.getByRole('button', { name: 'Show metrics.csv' }).click();
      await expect(page.getByRole('table', { name: 'First rows of metrics.csv' })).toBeVisible();
      await page.getByRole('textbox', { name: 'Add a comment' }).fill('a comment');
      await page.getByRole('button', { name: 'Comment', exact: true }).click();
      await page.getByRole('textbox', { name: 'Comment', exact: true }).fill('fine');
      await page.getByRole('button', { name: 'Approve' }).click();
      await expect(page.getByTestId('review-history')).toContainText('Approved');
      await page.getByTestId('series-chart').focus();
      await page.keyboard.press('ArrowRight');
      await expectAccessible(page, 'run page');
      await page.getByRole('button', { name: 'Delete run' }).click();
      await expect(page.getByRole('dialog', { name: 'Delete this run?' })).toBeVisible();
      await expectAccessible(page, 'delete run dialog');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

      await page.goto(`/compare?ids=${ids.join(',')}`);
      await expect(page.getByRole('table', { name: 'Params' })).toBeVisible();
      await expect(page.getByTestId('series-chart')).toHaveAttribute('data-loading', 'false');
      await expectAccessible(page, 'compare');
    });

    test('the API tokens page and its dialogs have no WCAG 2.1 A/AA violations', async ({ page, pageProblems, request }) => {
      // Someone else's token, so the admin's list has the owner column filled.
      const reviewer = await createUser(request, 'reviewer');
      await createApiToken(request, reviewer, { name: 'a11y job', scopes: ['runs:read'], projects: ['a11y'] });
      pageProblems.expect(401, refreshUrl, page);
      await signInAsAdmin(page, '/tokens');

      await expect(page.getByTestId('tokens-table').getByText(reviewer.email)).toBeVisible();
      await expectAccessible(page, 'API tokens');

      await page.getByRole('button', { name: 'New token' }).click();
      const form = page.getByRole('dialog', { name: 'New API token' });
      await expect(form).toBeVisible();
      await expectAccessible(page, 'new token dialog');
      await form.getByRole('checkbox', { name: /runs:read/ }).uncheck();
      await form.getByRole('checkbox', { name: /runs:write/ }).uncheck();
      await form.getByRole('button', { name: 'Create token' }).click();
      await expect(form.getByText('Give the token a name that says where it is used.')).toBeVisible();
      await expectAccessible(page, 'new token dialog with errors');

      const name = `a11y reveal ${reviewer.name}`;
      await form.getByLabel(/^Name/).fill(name);
      await form.getByRole('checkbox', { name: /runs:read/ }).check();
      await form.getByRole('button', { name: 'Create token' }).click();
      const reveal = page.getByRole('dialog', { name: `Your new token: ${name}` });
      await expect(reveal.getByTestId('new-token-secret')).toContainText('lrt_');
      await expectAccessible(page, 'token reveal');
      await reveal.getByRole('button', { name: 'I have copied it' }).click();
      await expect(reveal).toBeHidden();

      await page.getByRole('button', { name: `Revoke ${name}` }).click();
      await expect(page.getByRole('dialog', { name: `Revoke ${name}?` })).toBeVisible();
      await expectAccessible(page, 'revoke dialog');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      await expect(page.getByRole('dialog')).toBeHidden();
    });

    test('the account page and its dialog have no WCAG 2.1 A/AA violations', async ({ page, pageProblems }) => {
      pageProblems.expect(401, refreshUrl, page);
      await signInAsAdmin(page, '/account');

      await expect(page.getByTestId('sessions-table')).toBeVisible();
      await expectAccessible(page, 'account');
      await page.getByRole('button', { name: 'Sign out everywhere' }).click();
      await expect(page.getByRole('dialog', { name: 'Sign out everywhere?' })).toBeVisible();
      await expectAccessible(page, 'sign out everywhere dialog');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      await expect(page.getByRole('dialog')).toBeHidden();
    });

    test('the users and audit pages, a user menu and the new user dialog have no WCAG 2.1 A/AA violations', async ({
      page,
      pageProblems,
      request,
    }) => {
      const reviewer = await createUser(request, 'reviewer');
      pageProblems.expect(401, refreshUrl, page);
      await signInAsAdmin(page, '/admin/users');

      const row = page.locator(`tr[data-user-email="${reviewer.email}"]`);
      await expect(row.getByText('Active')).toBeVisible();
      await expectAccessible(page, 'users');
      await row.getByRole('button', { name: `Actions for ${reviewer.name}` }).click();
      await expect(page.getByRole('menuitem', { name: 'Delete…' })).toBeVisible();
      await expectAccessible(page, 'user actions menu');
      await page.keyboard.press('Escape');
      await expect(page.getByRole('menu')).toBeHidden();

      await page.getByRole('button', { name: 'New user' }).click();
      const create = page.getByRole('dialog', { name: 'New user' });
      await create.getByLabel(/^First password/).fill('orbital-granite-lantern-42');
      await expect(create.getByText(/Strength: (Good|Strong)$/)).toBeVisible();
      await expectAccessible(page, 'new user dialog');
      await create.getByRole('button', { name: 'Cancel' }).click();
      await expect(create).toBeHidden();

      await openPage(page, 'Audit log', 'Audit log');
      await expect(page.getByTestId('audit-table').locator('tbody tr').first()).toBeVisible();
      await expectAccessible(page, 'audit log');
    });

    test('a viewer’s pages, with their empty or limited states, have no WCAG 2.1 A/AA violations', async ({
      page,
      pageProblems,
      request,
    }) => {
      const viewer = await createUser(request, 'viewer');
      pageProblems.expect(401, refreshUrl, page);
      await page.goto('/tokens');
      await signIn(page, viewer.email, viewer.password);

      await expect(page.getByText('No API tokens yet')).toBeVisible();
      await expectAccessible(page, 'API tokens (none yet)');
      await page.getByRole('button', { name: 'New token' }).click();
      await expect(page.getByRole('dialog', { name: 'New API token' }).getByText('Viewers can hold runs:read only.')).toBeVisible();
      await expectAccessible(page, 'new token dialog of a viewer');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

      await page.goto('/admin/users');
      await expect(page.getByRole('heading', { level: 1, name: 'Not available' })).toBeVisible();
      await expectAccessible(page, 'an admin page, to a viewer');
    });
  });
}
