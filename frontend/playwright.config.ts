import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { defineConfig, devices } from '@playwright/test';

import { accessTokenTtlSeconds } from './e2e/support';

// End-to-end tests run the real labreview binary (style guide §20) against a
// throwaway data directory, in a system Chromium — never a downloaded browser.
const port = process.env['E2E_PORT'] ?? '18473';
const origin = `http://127.0.0.1:${port}`;
const binary = process.env['LABREVIEW_BIN'] ?? '../bin/labreview';

// Playwright loads this file in the runner and again in each worker; only the
// first load creates the directory, later loads inherit it through the env.
const dataDirEnv = 'LABREVIEW_E2E_DATA_DIR';
let dataDir = process.env[dataDirEnv];
if (dataDir === undefined) {
  const created = fs.mkdtempSync(path.join(os.tmpdir(), 'labreview-e2e-'));
  dataDir = created;
  process.env[dataDirEnv] = created;
  // The web server has been stopped by the time the runner exits.
  process.on('exit', () => {
    fs.rmSync(created, { recursive: true, force: true });
  });
}


export default defineConfig({
  testDir: './e2e',
  globalSetup: './e2e/global-setup.ts',
  timeout: 60_000,
  fullyParallel: false,
  forbidOnly: !!process.env['CI'],
  retries: 0,
  workers: 1,
  reporter: 'list',
  use: {
    baseURL: origin,
    trace: 'retain-on-failure',
    actionTimeout: 10_000,
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        headless: true,
        launchOptions: {
          executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
          ],
        },
      },
    },
  ],
  webServer: {
    command: `${binary} serve`,
    url: `${origin}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    // SIGTERM lets the server shut down and close its database cleanly.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LABREVIEW_SERVER_ADDR: `127.0.0.1:${port}`,
      LABREVIEW_DATA_DIR: dataDir,
      LABREVIEW_LOG_LEVEL: 'warn',
      // Short access tokens make every test exercise the refresh machinery; the
      // refresh rate limit is off because 5 s tokens refresh every 2.5 s per tab.
      // Three failed sign-ins per account trigger throttling (one test does that).
      LABREVIEW_AUTH_ACCESS_TOKEN_TTL: `${accessTokenTtlSeconds}s`,
      LABREVIEW_AUTH_REFRESH_PER_MINUTE: '0',
      LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_ACCOUNT: '3',
    },
  },
});
