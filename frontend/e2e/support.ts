import { expect, type APIRequestContext, type Page } from '@playwright/test';

/** password passes the server's policy (12+ characters, zxcvbn score >= 3). */
export const password = 'orbital-granite-lantern-42';

/** admin is seeded by global-setup.ts through the CLI. */
export const admin = { email: 'admin@e2e.test', name: 'E2E Admin', password };

/** accessTokenTtlSeconds is the lifetime playwright.config.ts gives access tokens (short, to exercise refresh). */
export const accessTokenTtlSeconds = 5;

/** TestUser is an account made for one test. */
export interface TestUser {
  id: string;
  email: string;
  name: string;
  password: string;
  role: string;
}

let sequence = 0;

/** apiToken signs in through the API (its own cookie jar) and returns an access token. */
export async function apiToken(request: APIRequestContext, email: string, pw = password): Promise<string> {
  const response = await request.post('/api/auth/login', { form: { username: email, password: pw } });
  expect(response.status(), `API sign-in of ${email}`).toBe(200);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

/** createUser makes a fresh account through the admin API. */
export async function createUser(request: APIRequestContext, role = 'viewer'): Promise<TestUser> {
  sequence += 1;
  const stamp = `${Date.now().toString(36)}${sequence}`;
  const user = { email: `user-${stamp}@e2e.test`, name: `Tester ${stamp}`, password, role };
  const token = await apiToken(request, admin.email, admin.password);
  const response = await request.post('/api/users', {
    headers: { Authorization: `Bearer ${token}` },
    data: user,
  });
  expect(response.status(), 'create user').toBe(201);
  const created = (await response.json()) as { id: string };
  return { ...user, id: created.id };
}

/** liveSessionsElsewhere lists the user's live sessions other than the one this call signs in with. */
export async function liveSessionsElsewhere(request: APIRequestContext, user: TestUser) {
  const token = await apiToken(request, user.email, user.password);
  const response = await request.get('/api/auth/sessions', { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status()).toBe(200);
  const body = (await response.json()) as { sessions: { id: string; current: boolean; user_agent: string }[] };
  return body.sessions.filter((s) => !s.current);
}

/** signInHeading is the sign-in page's title. */
export function signInHeading(page: Page) {
  return page.getByRole('heading', { level: 1, name: 'Sign in' });
}

/** signIn fills in the sign-in form (the page must show it) and waits to leave it. */
export async function signIn(page: Page, email: string, pw = password): Promise<void> {
  await expect(signInHeading(page)).toBeVisible();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(pw);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(signInHeading(page)).toBeHidden();
}

/** refreshUrl matches the refresh endpoint. */
export const refreshUrl = /\/api\/auth\/refresh$/;

/** ApiTokenBody is the body of POST /api/tokens. */
export interface ApiTokenBody {
  name: string;
  scopes: string[];
  projects?: string[];
  expires_in_days?: number;
}

/** createApiToken makes an API token for `user` through the API and returns its id and secret. */
export async function createApiToken(
  request: APIRequestContext,
  user: { email: string; password: string },
  body: ApiTokenBody,
): Promise<{ id: string; token: string }> {
  const access = await apiToken(request, user.email, user.password);
  const response = await request.post('/api/tokens', { headers: { Authorization: `Bearer ${access}` }, data: body });
  expect(response.status(), 'create API token').toBe(201);
  return (await response.json()) as { id: string; token: string };
}

/** reportRun creates a run the way a job does, with an API token (runs:write), and returns its id. */
export async function reportRun(
  request: APIRequestContext,
  token: string,
  run: { project: string; external_id?: string; status?: string },
): Promise<string> {
  const response = await request.post('/api/runs', { headers: { Authorization: `Bearer ${token}` }, data: run });
  expect(response.status(), 'report a run').toBe(201);
  return ((await response.json()) as { id: string }).id;
}
