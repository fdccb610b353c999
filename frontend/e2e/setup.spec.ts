import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { password } from './support';

/**
 * First-run setup needs a server without an admin, so this test starts its own
 * labreview on another port and a fresh data folder, and reads the one-time
 * link from its log, as an operator would.
 */
test('first-run setup from the logged link creates the admin and signs them in', async ({ page, pageProblems }) => {
  const port = Number(process.env['E2E_PORT'] ?? '18473') + 1;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'labreview-e2e-setup-'));
  const server: ChildProcess = spawn(process.env['LABREVIEW_BIN'] ?? '../bin/labreview', ['serve'], {
    env: {
      ...process.env,
      LABREVIEW_SERVER_ADDR: `127.0.0.1:${port}`,
      LABREVIEW_DATA_DIR: dataDir,
      LABREVIEW_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const link = await new Promise<string>((resolve, reject) => {
      let log = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const found = /setup_url="?([^"\s]+)/.exec(log);
        if (found?.[1] !== undefined) {
          resolve(found[1]);
        }
      };
      server.stdout?.on('data', onData);
      server.stderr?.on('data', onData);
      server.on('exit', (code) => {
        reject(new Error(`server exited (${String(code)}) before logging a setup link:\n${log}`));
      });
    });
    expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/setup\\?token=`));
    pageProblems.expect(401, /\/api\/auth\/refresh$/, page); // the boot refresh: nobody is signed in yet

    await page.goto(link);
    await expect(page.getByRole('heading', { level: 1, name: 'Welcome to labreview' })).toBeVisible();
    // The setup form meets WCAG 2.1 A/AA in both colour schemes (a11y.spec.ts audits the other pages).
    await expect(page.getByLabel(/^Your name/)).toBeVisible();
    for (const colorScheme of ['dark', 'light'] as const) {
      await page.emulateMedia({ colorScheme });
      await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
      await expectAccessible(page, `the setup form (${colorScheme})`);
    }
    await page.getByLabel(/^Your name/).fill('First Admin');
    await page.getByLabel(/^Email/).fill('first@e2e.test');
    await page.getByLabel(/^Password/).fill(password);
    await page.getByLabel(/^Repeat the password/).fill(password);
    await expect(page.getByText(/Strength: (Good|Strong)$/)).toBeVisible();
    await page.getByRole('button', { name: 'Create admin account' }).click();

    await expect(page).toHaveURL(`http://127.0.0.1:${port}/runs`);
    await expect(page.getByRole('group', { name: 'Signed in as' })).toContainText('First Admin');
    await expect(page.getByRole('group', { name: 'Signed in as' })).toContainText('Admin');

    // The link works once: setup is done now.
    await page.goto(link);
    await expect(page.getByText('Setup is done')).toBeVisible();
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
