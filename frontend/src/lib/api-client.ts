import { apiBasePath } from '@/config/api';
import { ApiError, errorFromResponse, isAbortError, networkError } from '@/lib/api-error';
import { getAccessToken, tokenAfterUnauthorized } from '@/lib/session/session';

export { ApiError } from '@/lib/api-error';

/**
 * ApiRequestInit is RequestInit with a body that is serialised as JSON.
 * `auth: false` sends no access token (public endpoints such as /health).
 */
export type ApiRequestInit = Omit<RequestInit, 'body' | 'credentials'> & {
  body?: unknown;
  auth?: boolean;
};

/**
 * apiFetch calls the server API and resolves with the decoded JSON body.
 * `path` is relative to the API base, e.g. `apiFetch<Health>('/health')` requests
 * `/api/health`. Every failure — network, non-2xx status, undecodable body —
 * rejects with an {@link ApiError}.
 *
 * Authenticated calls (the default) carry the in-memory access token from the
 * session module, which refreshes it first when it is about to expire. A 401
 * gets one refresh and one retry, never more; a signed-out tab sends nothing.
 */
export async function apiFetch<T>(path: string, init: ApiRequestInit = {}): Promise<T> {
  const response = await apiResponse(path, init, 'application/json');
  if (response.status === 204) {
    return undefined as T;
  }
  try {
    return (await response.json()) as T;
  } catch (cause) {
    throw new ApiError({
      status: response.status,
      code: 'invalid_response',
      message: 'The server sent a response that could not be read.',
      cause,
    });
  }
}

/**
 * apiFetchBlob is apiFetch for an answer that is not JSON (a run's file): it
 * resolves with the body's bytes and their type. Errors as apiFetch's.
 */
export async function apiFetchBlob(path: string, init: ApiRequestInit = {}): Promise<Blob> {
  const response = await apiResponse(path, init, '*/*');
  return response.blob();
}

/** apiResponse sends the request as apiFetch describes and returns a 2xx response. */
async function apiResponse(path: string, init: ApiRequestInit, accept: string): Promise<Response> {
  const { auth = true, body, headers: extraHeaders, ...rest } = init;
  const send = async (token: string | null): Promise<Response> => {
    const headers = new Headers(extraHeaders);
    headers.set('Accept', accept);
    if (body !== undefined) {
      headers.set('Content-Type', 'application/json');
    }
    if (token !== null) {
      headers.set('Authorization', `Bearer ${token}`);
    }
    try {
      return await fetch(`${apiBasePath}${path}`, {
        ...rest,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      // fetch only rejects when no HTTP response arrived; an abort is the caller's
      // own doing (e.g. TanStack Query cancelling) and must stay recognisable.
      if (isAbortError(cause)) {
        throw cause;
      }
      throw networkError(cause);
    }
  };

  let response: Response;
  if (!auth) {
    response = await send(null);
  } else {
    const token = await getAccessToken();
    response = await send(token);
    if (response.status === 401) {
      const next = await tokenAfterUnauthorized(token);
      if (next !== null) {
        await response.body?.cancel();
        response = await send(next);
      }
    }
  }

  if (!response.ok) {
    throw await errorFromResponse(response);
  }
  return response;
}
