import { expect, test, type PageProblems } from './fixtures';
import { admin, refreshUrl, signIn } from './support';
import type { Page } from '@playwright/test';

/** openSignedIn opens `path` in a signed-out tab, signs in, and lands back on `path`. */
async function openSignedIn(page: Page, pageProblems: PageProblems, path: string) {
  pageProblems.expect(401, refreshUrl, page); // the boot refresh of a signed-out tab
  await page.goto(path);
  await signIn(page, admin.email, admin.password);
  await expect(page).toHaveURL(path);
}

test('the runs page is the first page after sign-in; / leads to it', async ({ page, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  await page.goto('/');
  await signIn(page, admin.email, admin.password);
  await expect(page).toHaveURL('/runs');

  await expect(page).toHaveTitle('labreview');
  await expect(page.getByRole('banner').getByRole('link', { name: 'labreview' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Runs' })).toBeVisible();
});

test('a deep link to /status renders the status page after sign-in', async ({ page, pageProblems }) => {
  await openSignedIn(page, pageProblems, '/status');

  await expect(page.getByRole('heading', { level: 1, name: 'Server status' })).toBeVisible();
  const database = page.locator('dt', { hasText: /^Database$/ }).locator('+ dd');
  await expect(database).toHaveText('Up');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Server status' })).toHaveAttribute(
    'aria-current',
    'page',
  );
});

test('an unknown client path shows the in-app not-found page', async ({ page, pageProblems }) => {
  await openSignedIn(page, pageProblems, '/no/such/page');

  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to the runs' }).click();
  await expect(page).toHaveURL('/runs');
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
});

test('the navigation links switch pages without reloading the document', async ({ page, pageProblems }) => {
  await openSignedIn(page, pageProblems, '/runs');
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  // A full page load would start a new document and lose this marker.
  await page.evaluate(() => {
    document.documentElement.dataset['e2eSameDocument'] = 'yes';
  });
  const nav = page.getByRole('navigation', { name: 'Main' });

  await nav.getByRole('link', { name: 'Server status' }).click();
  await expect(page).toHaveURL('/status');
  await expect(page.getByRole('heading', { level: 1, name: 'Server status' })).toBeVisible();

  await nav.getByRole('link', { name: 'Runs' }).click();
  await expect(page).toHaveURL('/runs');
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();

  await expect(page.locator('html')).toHaveAttribute('data-e2e-same-document', 'yes');
});

test('the app is served with the Content-Security-Policy', async ({ page, pageProblems }) => {
  pageProblems.expect(401, refreshUrl, page);
  const response = await page.goto('/');

  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  await signIn(page, admin.email, admin.password);
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
});
