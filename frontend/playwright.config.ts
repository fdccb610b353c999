import { defineConfig } from '@playwright/test';

import { chromium, throwawayDataDir } from './e2e/browser';
import { accessTokenTtlSeconds } from './e2e/support';

// End-to-end tests run the real labreview binary (style guide §20) against a
// throwaway data directory, in a system Chromium — never a downloaded browser.
const port = process.env['E2E_PORT'] ?? '18473';
const origin = `http://127.0.0.1:${port}`;
const binary = process.env['LABREVIEW_BIN'] ?? '../bin/labreview';

const dataDir = throwawayDataDir('LABREVIEW_E2E_DATA_DIR', 'labreview-e2e-');

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
  projects: [chromium()],
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
