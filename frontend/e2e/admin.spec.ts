import type { Page } from '@playwright/test';

import { expect, test } from './fixtures';
import { admin, createUser, password, refreshUrl, signIn } from './support';

const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

/**
 * 10. Every page and dialog, under the CSP: this walk opens each of them as an
 * admin (menus, selects, modals, the lazily loaded strength meter), and the
 * automatic fixture fails it on any console error or CSP violation.
 */
test('10. an admin walks every page and dialog without console errors or CSP violations', async ({
  page,
  pageProblems,
}) => {
  pageProblems.expect(401, refreshUrl, page);
  await page.goto('/login');
  await signIn(page, admin.email, admin.password);

  // Runs (the first page) and status.
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  await nav(page).getByRole('link', { name: 'Server status' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Server status' })).toBeVisible();
  await expect(page.locator('dt', { hasText: /^Database$/ }).locator('+ dd')).toHaveText('Up');

  // Account: profile, the strength meter (its dictionaries load on demand), sessions, a dialog.
  await nav(page).getByRole('link', { name: 'Account' }).click();
  await expect(page.getByRole('region', { name: 'Profile' }).getByText(admin.email)).toBeVisible();
  await page.getByLabel(/^New password/).fill('password123');
  await expect(page.getByText(/Strength: (Very weak|Weak) — not accepted/)).toBeVisible();
  await page.getByLabel(/^New password/).fill(password);
  await expect(page.getByText(/Strength: (Good|Strong)$/)).toBeVisible();
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(page.getByRole('dialog', { name: 'Sign out everywhere?' })).toBeVisible();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();

  // Users: create, change role, disable, enable, reset password, delete.
  await nav(page).getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
  const email = `walk-${Date.now().toString(36)}@e2e.test`;
  await page.getByRole('button', { name: 'New user' }).click();
  const create = page.getByRole('dialog', { name: 'New user' });
  await create.getByLabel(/^Email/).fill(email);
  await create.getByLabel(/^Name/).fill('Walk Tester');
  await create.getByRole('combobox', { name: 'Role', exact: true }).click();
  await page.getByRole('option', { name: 'Reviewer', exact: true }).click();
  await create.getByLabel(/^First password/).fill(password);
  await expect(create.getByText(/Strength: (Good|Strong)$/)).toBeVisible();
  await create.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Walk Tester was created.' })).toBeVisible();

  const row = page.locator(`tr[data-user-email="${email}"]`);
  await expect(row.getByRole('combobox', { name: 'Role of Walk Tester' })).toHaveValue('Reviewer');
  await row.getByRole('combobox', { name: 'Role of Walk Tester' }).click();
  await page.getByRole('option', { name: 'Viewer', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Walk Tester is now Viewer.' })).toBeVisible();

  await row.getByRole('button', { name: 'Actions for Walk Tester' }).click();
  await page.getByRole('menuitem', { name: 'Disable…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
  await expect(row.getByText('Disabled')).toBeVisible();
  await row.getByRole('button', { name: 'Actions for Walk Tester' }).click();
  await page.getByRole('menuitem', { name: 'Enable' }).click();
  await expect(row.getByText('Active')).toBeVisible();

  await row.getByRole('button', { name: 'Actions for Walk Tester' }).click();
  await page.getByRole('menuitem', { name: 'Reset password…' }).click();
  const reset = page.getByRole('dialog', { name: 'Reset password of Walk Tester' });
  await reset.getByLabel(/^New password/).fill('tangerine-sofa-glacier-7');
  await reset.getByRole('button', { name: 'Set password' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The password of Walk Tester was reset' })).toBeVisible();

  // The admin's own row offers nothing that would lock them out.
  const own = page.locator(`tr[data-user-email="${admin.email}"]`);
  await expect(own.getByRole('combobox', { name: `Role of ${admin.name}` })).toBeDisabled();

  await row.getByRole('button', { name: 'Actions for Walk Tester' }).click();
  await page.getByRole('menuitem', { name: 'Delete…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Walk Tester was deleted.' })).toBeVisible();
  await expect(row).toHaveCount(0);

  // Audit log: filter by event and by user.
  await nav(page).getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  const table = page.getByTestId('audit-table');
  await expect(table.getByText('user_deleted').first()).toBeVisible();
  await page.getByRole('combobox', { name: 'Event' }).click();
  await page.getByRole('option', { name: 'password reset' }).click();
  await expect(table.locator('tbody tr').first()).toContainText('password_reset');
  await expect(table.getByText('user_deleted')).toHaveCount(0);
  await page.getByRole('combobox', { name: 'Event' }).click();
  await page.getByRole('option', { name: 'login ok' }).click();
  await page.getByRole('combobox', { name: 'User' }).click();
  await page.getByRole('option', { name: new RegExp(admin.email) }).click();
  await expect(table.locator('tbody tr').first()).toContainText('login_ok');
});

test('a viewer sees no admin navigation and no admin page', async ({ page, pageProblems, request }) => {
  const viewer = await createUser(request, 'viewer');
  pageProblems.expect(401, refreshUrl, page);
  await page.goto('/admin/users');
  await signIn(page, viewer.email);

  await expect(page).toHaveURL('/admin/users');
  await expect(page.getByRole('heading', { level: 1, name: 'Not available' })).toBeVisible();
  await expect(nav(page).getByRole('link')).toHaveText(['Runs', 'Projects', 'Server status', 'API tokens', 'Account']);
  await expect(page.getByRole('group', { name: 'Signed in as' })).toContainText('Viewer');
});
