import { vi, type Mock } from 'vitest';

/** jsonResponse builds a fetch Response with a JSON body. */
export function jsonResponse(body: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set('Content-Type', 'application/json');
  return new Response(JSON.stringify(body), { ...init, headers });
}

/** stubFetch replaces global fetch with a mock; vitest's unstubGlobals restores it after each test. */
export function stubFetch(implementation: typeof fetch): Mock<typeof fetch> {
  const mock = vi.fn(implementation);
  vi.stubGlobal('fetch', mock);
  return mock;
}

/** requestKey names a fetch call as "METHOD /path" (no query), for fake servers and assertions. */
export function requestKey(input: RequestInfo | URL, init?: RequestInit): string {
  const url = new URL(input instanceof Request ? input.url : String(input), 'http://localhost');
  return `${(init?.method ?? 'GET').toUpperCase()} ${url.pathname}`;
}
