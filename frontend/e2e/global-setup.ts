import { execFileSync } from 'node:child_process';

import { admin } from './support';

/**
 * globalSetup seeds the first admin through the CLI (Playwright starts the web
 * server first; the CLI works beside a running server). Other accounts are made
 * by the tests themselves, through the admin API, one per test.
 */
export default function globalSetup(): void {
  const binary = process.env['LABREVIEW_BIN'] ?? '../bin/labreview';
  const dataDir = process.env['LABREVIEW_E2E_DATA_DIR'];
  if (dataDir === undefined) {
    throw new Error('LABREVIEW_E2E_DATA_DIR is not set; playwright.config.ts sets it');
  }
  execFileSync(
    binary,
    ['user', 'create', '--email', admin.email, '--name', admin.name, '--role', 'admin', '--password-stdin'],
    { input: `${admin.password}\n`, env: { ...process.env, LABREVIEW_DATA_DIR: dataDir }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
}
