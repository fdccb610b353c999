import { expect, test } from './fixtures';
import { createApiToken, createUser, refreshUrl, reportRun, signIn } from './support';

test('the projects page counts the runs a job reported, and links the project to its runs', async ({
  page,
  pageProblems,
  request,
}) => {
  const reviewer = await createUser(request, 'reviewer');
  // A name that would be markup if it were ever rendered as HTML, with a quote for the query.
  const project = `e2e "${reviewer.name}" <img src=x onerror=alert(1)>`;
  const job = await createApiToken(request, reviewer, { name: 'projects job', scopes: ['runs:read', 'runs:write'] });
  await reportRun(request, job.token, { project, external_id: 'a', status: 'running' });
  await reportRun(request, job.token, { project, external_id: 'b', status: 'running' });
  await reportRun(request, job.token, { project, external_id: 'c', status: 'queued' });

  pageProblems.expect(401, refreshUrl, page);
  await page.goto('/login');
  await signIn(page, reviewer.email, reviewer.password);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();

  const table = page.getByRole('table', { name: 'Projects' });
  const row = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: project }) });
  const cells = row.getByRole('cell');
  // Runs, then by status: queued, running, succeeded, failed, cancelled; by review: unreviewed, …
  await expect(cells.nth(0)).toHaveText('3');
  await expect(cells.nth(1)).toHaveText('1');
  await expect(cells.nth(2)).toHaveText('2');
  await expect(cells.nth(3)).toHaveText('0');
  await expect(cells.nth(6)).toHaveText('3');
  await expect(cells.last()).toContainText('now');
  await expect(page.locator('img[src="x"]')).toHaveCount(0);

  // The name opens the runs table filtered to the project, and lists its runs.
  await row.getByRole('link', { name: project }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  await expect(page.getByRole('combobox', { name: 'Project' })).toHaveValue(project);
  await expect(page.getByTestId('runs-count')).toContainText('3 runs');
});
