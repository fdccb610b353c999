import type { Mock } from 'vitest';

import type { User } from '@/types/api';

import { errorResponse, makeAccessToken, tokenResponse } from './fake-auth';
import { jsonResponse, requestKey, stubFetch } from './http';

/** FakeHandler answers one route of the fake API. */
export type FakeHandler = (init: RequestInit | undefined, url: URL) => Response | Promise<Response>;

/** FakeApiOptions describe the fake server: who is signed in and any extra routes ("METHOD /api/path"). */
export interface FakeApiOptions {
  signedIn?: boolean;
  user?: Partial<User>;
  password?: string;
  /** permissions /api/me lists; by default what the server's table grants the user's role. */
  permissions?: string[];
  handlers?: Record<string, FakeHandler>;
}

/** FakeApi is the installed fake: the fetch mock and the state it keeps. */
export interface FakeApi {
  fetch: Mock<typeof fetch>;
  state: { signedIn: boolean };
  user: User;
  /** calls lists "METHOD /path" of every request so far. */
  calls: () => string[];
}

/**
 * fakePermissions is what the server's permission table (auth/policy) grants
 * each role; /api/me of the fake answers with it unless a test sets its own.
 */
const fakePermissions: Record<string, string[]> = {
  viewer: ['runs:read', 'runs:comment', 'account'],
  reviewer: ['runs:read', 'runs:write', 'runs:comment', 'runs:review', 'account'],
  admin: [
    'runs:read',
    'runs:write',
    'runs:comment',
    'runs:review',
    'runs:delete',
    'runs:moderate',
    'users:manage',
    'tokens:manage-all',
    'audit:read',
    'account',
  ],
};

/**
 * installFakeApi stubs fetch with a small fake labreview server: refresh, login,
 * logout, /me and /health, plus `handlers`. The refresh "cookie" is the
 * `signedIn` flag.
 */
export function installFakeApi(options: FakeApiOptions = {}): FakeApi {
  const user: User = {
    id: 'u1',
    email: 'ada@example.org',
    name: 'Ada Lovelace',
    role: 'viewer',
    disabled: false,
    created_at: '2026-01-02T03:04:05Z',
    updated_at: '2026-01-02T03:04:05Z',
    ...options.user,
  };
  const password = options.password ?? 'orbital-granite-lantern-42';
  const state = { signedIn: options.signedIn ?? true };
  const grant = () => tokenResponse(makeAccessToken({ sub: user.id, role: user.role }));
  const routes: Record<string, FakeHandler> = {
    'POST /api/auth/refresh': () => (state.signedIn ? grant() : errorResponse(401, 'invalid_refresh_token')),
    'POST /api/auth/login': (init) => {
      const form = new URLSearchParams(typeof init?.body === 'string' ? init.body : '');
      if (form.get('username') === user.email && form.get('password') === password) {
        state.signedIn = true;
        return grant();
      }
      return errorResponse(401, 'invalid_grant', 'Wrong email or password.');
    },
    'POST /api/auth/logout': () => {
      state.signedIn = false;
      return new Response(null, { status: 204 });
    },
    'GET /api/me': () => jsonResponse({ ...user, permissions: options.permissions ?? fakePermissions[user.role] ?? [] }),
    'GET /api/health': () =>
      jsonResponse({ status: 'ok', version: '1.0.0', database: { status: 'up', mode: 'embedded' } }),
    // The runs page is the first page after sign-in: an empty lab by default.
    'GET /api/runs': () => jsonResponse({ runs: [], next: null, total: 0, total_exact: true }),
    'GET /api/runs/keys': () => jsonResponse({ params: [], metrics: [], series: [], truncated: false }),
    'GET /api/projects': () => jsonResponse({ projects: [] }),
    'GET /api/me/views': () => jsonResponse({ views: [] }),
    ...options.handlers,
  };
  const fetchMock = stubFetch((input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input), 'http://localhost');
    const handler = routes[requestKey(input, init)];
    if (handler === undefined) {
      return Promise.resolve(errorResponse(404, 'not_found'));
    }
    return Promise.resolve(handler(init, url));
  });
  return {
    fetch: fetchMock,
    state,
    user,
    calls: () => fetchMock.mock.calls.map(([input, init]) => requestKey(input, init)),
  };
}
