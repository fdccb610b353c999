import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { devices, type PlaywrightTestConfig } from '@playwright/test';

/** chromiumPath is the system Chromium the tests drive. */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** chromiumArgs are the launch flags that work on the project's machines. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * chromium is the one browser project of the end-to-end tests and the
 * frame-time benchmark: the system Chromium, never a downloaded browser,
 * with the launch flags that work on the project's machines.
 */
export function chromium(viewport?: { width: number; height: number }): NonNullable<PlaywrightTestConfig['projects']>[number] {
  return {
    name: 'chromium',
    use: {
      ...devices['Desktop Chrome'],
      ...(viewport === undefined ? {} : { viewport }),
      headless: true,
      launchOptions: {
        executablePath: chromiumPath,
        args: chromiumArgs,
      },
    },
  };
}

/**
 * throwawayDataDir is the server's data directory for one Playwright run.
 * Playwright loads its config in the runner and again in each worker; only
 * the first load creates the directory, later loads inherit it through the
 * environment variable `envVar`. It is removed when the runner exits (the
 * web server has stopped by then).
 */
export function throwawayDataDir(envVar: string, prefix: string): string {
  const inherited = process.env[envVar];
  if (inherited !== undefined) {
    return inherited;
  }
  const created = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.env[envVar] = created;
  process.on('exit', () => {
    fs.rmSync(created, { recursive: true, force: true });
  });
  return created;
}
