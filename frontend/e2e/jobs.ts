import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { expect, type APIRequestContext } from '@playwright/test';

import { createApiToken, type TestUser } from './support';

/** origin is where playwright.config.ts serves the binary. */
export const origin = `http://127.0.0.1:${process.env['E2E_PORT'] ?? '18473'}`;
const binary = process.env['LABREVIEW_BIN'] ?? '../bin/labreview';
const pythonClientDir = path.resolve(import.meta.dirname, '../../clients/python');

/** stamp makes names unique across tests that share one server. */
export function stamp(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** jobToken makes a runs:read+runs:write API token for user, as the API tokens page does. */
export async function jobToken(request: APIRequestContext, user: TestUser): Promise<string> {
  const created = await createApiToken(request, user, {
    name: `e2e job ${stamp()}`,
    scopes: ['runs:read', 'runs:write'],
    expires_in_days: 1,
  });
  return created.token;
}

function jobEnv(token: string): NodeJS.ProcessEnv {
  return { ...process.env, LABREVIEW_URL: origin, LABREVIEW_TOKEN: token };
}

/** cliPush runs `labreview push -` with a run document, as a job would; returns the run id. */
export function cliPush(token: string, run: Record<string, unknown>): string {
  return execFileSync(binary, ['push', '-'], { input: JSON.stringify(run), env: jobEnv(token) })
    .toString()
    .trim();
}

/** cliLog runs `labreview log` for one step. */
export function cliLog(token: string, runId: string, step: number, values: Record<string, number>): void {
  const pairs = Object.entries(values).map(([k, v]) => `${k}=${String(v)}`);
  execFileSync(binary, ['log', '--run', runId, ...pairs, '--step', String(step)], { env: jobEnv(token) });
}

/**
 * pythonJob runs a job script with the Python client (clients/python), the
 * way a cluster job would; the script gets `labreview` importable and the
 * token in the environment. It prints whatever the script prints.
 */
export function pythonJob(token: string, script: string): string {
  return execFileSync('python3', ['-c', script], {
    env: { ...jobEnv(token), PYTHONPATH: pythonClientDir },
    timeout: 60_000,
  })
    .toString()
    .trim();
}

/** patchRun changes a run through the API with a job's token. */
export async function patchRun(
  request: APIRequestContext,
  token: string,
  runId: string,
  body: Record<string, unknown>,
): Promise<void> {
  const response = await request.patch(`/api/runs/${runId}`, {
    headers: { Authorization: `Bearer ${token}` },
    data: body,
  });
  expect(response.status(), 'PATCH run').toBe(200);
}
