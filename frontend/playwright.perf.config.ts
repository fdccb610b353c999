import { defineConfig } from '@playwright/test';

import { chromium, throwawayDataDir } from './e2e/browser';

// Frame-time benchmark (make bench-ui): the real binary on a fresh data
// directory seeded with 100,000 runs and a 1,000,000-point series. Not part
// of `make test`: its figures go to docs/benchmarks.md.
const port = process.env['PERF_PORT'] ?? '18481';
const origin = `http://127.0.0.1:${port}`;
const binary = process.env['LABREVIEW_BIN'] ?? '../bin/labreview';
const dataDir = throwawayDataDir('LABREVIEW_PERF_DATA_DIR', 'labreview-perf-');
// global-setup.ts seeds the admin into this directory.
process.env['LABREVIEW_E2E_DATA_DIR'] = dataDir;

export default defineConfig({
  testDir: './perf',
  globalSetup: './e2e/global-setup.ts',
  timeout: 30 * 60_000,
  workers: 1,
  retries: 0,
  reporter: 'list',
  use: { baseURL: origin, actionTimeout: 30_000 },
  projects: [chromium({ width: 1400, height: 900 })],
  webServer: {
    command: `${binary} serve`,
    url: `${origin}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
    env: {
      LABREVIEW_SERVER_ADDR: `127.0.0.1:${port}`,
      LABREVIEW_DATA_DIR: dataDir,
      LABREVIEW_LOG_LEVEL: 'warn',
    },
  },
});
