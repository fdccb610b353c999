import { describe, expect, it } from 'vitest';

import { jsonResponse, stubFetch } from '@/testing/test-utils';

import { ApiError, apiFetch } from './api-client';

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

    await expect(apiFetch('/health')).resolves.toEqual({ status: 'ok' });

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

    await apiFetch('/reviews', { method: 'POST', body: { title: 'Week 3', tags: ['a'] } });

    const init = fetchMock.mock.calls[0]?.[1];
    expect(init?.method).toBe('POST');
    expect(init?.body).toBe('{"title":"Week 3","tags":["a"]}');
    expect(new Headers(init?.headers).get('Content-Type')).toBe('application/json');
  });

  it('resolves with undefined for 204 No Content', async () => {
    stubFetch(() => Promise.resolve(new Response(null, { status: 204 })));

    await expect(apiFetch('/sessions/current', { method: 'DELETE' })).resolves.toBeUndefined();
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

    const error = await apiErrorFrom(apiFetch('/reviews', { method: 'POST', body: {} }));

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

    const error = await apiErrorFrom(apiFetch('/health'));

    expect(error.status).toBe(502);
    expect(error.code).toBe('http_502');
    expect(error.message).toBe('The server answered 502 Bad Gateway.');
    expect(error.requestId).toBe('req-7');
    expect(error.details).toBeUndefined();
  });

  it('maps JSON that is not the error shape to http_<status>', async () => {
    stubFetch(() => Promise.resolve(jsonResponse({ detail: 'nope' }, { status: 500 })));

    const error = await apiErrorFrom(apiFetch('/health'));

    expect(error.status).toBe(500);
    expect(error.code).toBe('http_500');
  });

  it('maps a network failure to network_error', async () => {
    const cause = new TypeError('Failed to fetch');
    stubFetch(() => Promise.reject(cause));

    const error = await apiErrorFrom(apiFetch('/health'));

    expect(error.status).toBe(0);
    expect(error.code).toBe('network_error');
    expect(error.message).toMatch(/could not reach the server/i);
    expect(error.cause).toBe(cause);
  });

  it('lets an abort through unchanged', async () => {
    const abort = new DOMException('The operation was aborted.', 'AbortError');
    stubFetch(() => Promise.reject(abort));

    await expect(apiFetch('/health')).rejects.toBe(abort);
  });

  it('maps an unreadable success body to invalid_response', async () => {
    stubFetch(() => Promise.resolve(new Response('not json', { status: 200 })));

    const error = await apiErrorFrom(apiFetch('/health'));

    expect(error.status).toBe(200);
    expect(error.code).toBe('invalid_response');
  });
});
