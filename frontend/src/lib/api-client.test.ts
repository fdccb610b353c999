import { afterEach, describe, expect, it, vi } from 'vitest';

import { errorResponse, makeAccessToken, tokenResponse } from '@/testing/fake-auth';
import { jsonResponse, requestKey, stubFetch } from '@/testing/http';

import { ApiError, apiFetch } from './api-client';
import { getSessionSnapshot, startSession } from './session/session';

async function apiErrorFrom(promise: Promise<unknown>): Promise<ApiError> {
  const error: unknown = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('apiFetch', () => {
  it('requests the path under /api same-origin and resolves with the JSON body', async () => {
    const fetchMock = stubFetch(() => Promise.resolve(jsonResponse({ status: 'ok' })));

    await expect(apiFetch('/health', { auth: false })).resolves.toEqual({ status: 'ok' });

    expect(fetchMock).toHaveBeenCalledOnce();
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('/api/health');
    expect(init?.credentials).toBe('same-origin');
    const headers = new Headers(init?.headers);
    expect(headers.get('Accept')).toBe('application/json');
    expect(headers.has('Content-Type')).toBe(false);
    expect(init?.body).toBeUndefined();
  });

  it('sends a body as JSON', async () => {
    const fetchMock = stubFetch(() => Promise.resolve(jsonResponse({ id: 'r1' }, { status: 201 })));

    await apiFetch('/reviews', { method: 'POST', body: { title: 'Week 3', tags: ['a'] }, auth: false });

    const init = fetchMock.mock.calls[0]?.[1];
    expect(init?.method).toBe('POST');
    expect(init?.body).toBe('{"title":"Week 3","tags":["a"]}');
    expect(new Headers(init?.headers).get('Content-Type')).toBe('application/json');
  });

  it('resolves with undefined for 204 No Content', async () => {
    stubFetch(() => Promise.resolve(new Response(null, { status: 204 })));

    await expect(apiFetch('/sessions/current', { method: 'DELETE', auth: false })).resolves.toBeUndefined();
  });

  it("maps the server's error body to ApiError", async () => {
    stubFetch(() =>
      Promise.resolve(
        jsonResponse(
          {
            error: 'validation_failed',
            message: 'Title is required.',
            request_id: 'req-42',
            details: [{ field: 'title', problem: 'required' }],
          },
          { status: 422 },
        ),
      ),
    );

    const error = await apiErrorFrom(apiFetch('/reviews', { method: 'POST', body: {}, auth: false }));

    expect(error.status).toBe(422);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toBe('Title is required.');
    expect(error.requestId).toBe('req-42');
    expect(error.details).toEqual([{ field: 'title', problem: 'required' }]);
  });

  it('maps a non-JSON error body to http_<status>', async () => {
    stubFetch(() =>
      Promise.resolve(
        new Response('<html>Bad Gateway</html>', {
          status: 502,
          statusText: 'Bad Gateway',
          headers: { 'Content-Type': 'text/html', 'X-Request-ID': 'req-7' },
        }),
      ),
    );

    const error = await apiErrorFrom(apiFetch('/health', { auth: false }));

    expect(error.status).toBe(502);
    expect(error.code).toBe('http_502');
    expect(error.message).toBe('The server answered 502 Bad Gateway.');
    expect(error.requestId).toBe('req-7');
    expect(error.details).toBeUndefined();
  });

  it('maps JSON that is not the error shape to http_<status>', async () => {
    stubFetch(() => Promise.resolve(jsonResponse({ detail: 'nope' }, { status: 500 })));

    const error = await apiErrorFrom(apiFetch('/health', { auth: false }));

    expect(error.status).toBe(500);
    expect(error.code).toBe('http_500');
  });

  it('maps a network failure to network_error', async () => {
    const cause = new TypeError('Failed to fetch');
    stubFetch(() => Promise.reject(cause));

    const error = await apiErrorFrom(apiFetch('/health', { auth: false }));

    expect(error.status).toBe(0);
    expect(error.code).toBe('network_error');
    expect(error.message).toMatch(/could not reach the server/i);
    expect(error.cause).toBe(cause);
  });

  it('lets an abort through unchanged', async () => {
    const abort = new DOMException('The operation was aborted.', 'AbortError');
    stubFetch(() => Promise.reject(abort));

    await expect(apiFetch('/health', { auth: false })).rejects.toBe(abort);
  });

  it('maps an unreadable success body to invalid_response', async () => {
    stubFetch(() => Promise.resolve(new Response('not json', { status: 200 })));

    const error = await apiErrorFrom(apiFetch('/health', { auth: false }));

    expect(error.status).toBe(200);
    expect(error.code).toBe('invalid_response');
  });
});

/** signedInServer answers refreshes with numbered tokens and hands data requests to `data`. */
function signedInServer(data: (token: string | null, key: string) => Response | Promise<Response>, expiresIn = 300) {
  const tokens: string[] = [];
  let refreshOk = true;
  const fetchMock = stubFetch(async (input, init) => {
    const key = requestKey(input, init);
    if (key === 'POST /api/auth/refresh') {
      if (!refreshOk) {
        return errorResponse(401, 'invalid_refresh_token');
      }
      const token = makeAccessToken({ jti: `t${tokens.length + 1}` });
      tokens.push(token);
      return tokenResponse(token, expiresIn);
    }
    const auth = new Headers(init?.headers).get('Authorization');
    return data(auth === null ? null : auth.replace(/^Bearer /, ''), key);
  });
  return {
    fetchMock,
    tokens,
    refusingRefresh() {
      refreshOk = false;
    },
    count: (key: string) => fetchMock.mock.calls.filter(([i, o]) => requestKey(i, o) === key).length,
  };
}

async function bootSignedIn() {
  startSession();
  await vi.waitFor(() => {
    expect(getSessionSnapshot().status).toBe('signed-in');
  });
}

describe('apiFetch with the session', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the in-memory access token as a bearer token', async () => {
    const server = signedInServer((token) => Promise.resolve(jsonResponse({ token })));
    await bootSignedIn();

    await expect(apiFetch('/me')).resolves.toEqual({ token: server.tokens[0] });
  });

  it('sends nothing at all from a signed-out tab', async () => {
    const server = signedInServer(() => jsonResponse({}));
    server.refusingRefresh();
    startSession();
    await vi.waitFor(() => {
      expect(getSessionSnapshot().status).toBe('signed-out');
    });

    const error = await apiErrorFrom(apiFetch('/me'));

    expect(error.code).toBe('unauthenticated');
    expect(server.count('GET /api/me')).toBe(0);
  });

  it('answers a 401 with one refresh and one retry', async () => {
    const server = signedInServer((token) =>
      token === server.tokens[0] ? errorResponse(401, 'invalid_token') : jsonResponse({ ok: true }),
    );
    await bootSignedIn();

    await expect(apiFetch('/me')).resolves.toEqual({ ok: true });

    expect(server.count('POST /api/auth/refresh')).toBe(2);
    expect(server.count('GET /api/me')).toBe(2);
  });

  it('gives up after the retry is refused too: no loop, and the tab stays signed in', async () => {
    const server = signedInServer(() => errorResponse(401, 'invalid_token'));
    await bootSignedIn();

    const error = await apiErrorFrom(apiFetch('/me'));

    expect(error.status).toBe(401);
    expect(server.count('POST /api/auth/refresh')).toBe(2);
    expect(server.count('GET /api/me')).toBe(2);
    expect(getSessionSnapshot().status).toBe('signed-in');
  });

  it('shares one refresh between requests refused at the same time', async () => {
    const server = signedInServer((token) =>
      token === server.tokens[0] ? errorResponse(401, 'invalid_token') : jsonResponse({ ok: true }),
    );
    await bootSignedIn();

    await Promise.all([apiFetch('/me'), apiFetch('/me'), apiFetch('/auth/sessions')]);

    expect(server.count('POST /api/auth/refresh')).toBe(2);
  });

  it('ends the session when the refresh after a 401 is refused', async () => {
    const server = signedInServer(() => errorResponse(401, 'invalid_token'));
    await bootSignedIn();
    server.refusingRefresh();

    await apiErrorFrom(apiFetch('/me'));

    expect(getSessionSnapshot()).toMatchObject({ status: 'signed-out', notice: 'session-ended' });
    expect(server.count('GET /api/me')).toBe(1);
  });

  it('refreshes first when the token expires within a few seconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const server = signedInServer((token) => jsonResponse({ token }), 60);
    await bootSignedIn();
    // 60 s token: usable 59 s; planned refresh after 29.5 s. Jump past it
    // without timers running (a throttled background tab).
    vi.setSystemTime(Date.now() + 57_000);

    await expect(apiFetch('/me')).resolves.toEqual({ token: server.tokens[1] });

    expect(server.count('POST /api/auth/refresh')).toBe(2);
  });
});
