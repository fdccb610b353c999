import { apiBasePath } from '@/config/api';

/** ApiError is the single error shape every failed API call is mapped to. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** HTTP status of the response, or 0 when no response arrived. */
  readonly status: number;
  /** Stable machine-readable code, e.g. `not_found`, `network_error`, `http_502`. */
  readonly code: string;
  /** Request ID the server logged the failure under, when it sent one. */
  readonly requestId: string | undefined;
  /** The optional `details` array of the error body, passed through unchanged. */
  readonly details: readonly unknown[] | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    requestId?: string | undefined;
    details?: readonly unknown[] | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.details = init.details;
  }
}

/** ApiRequestInit is RequestInit with a body that is serialised as JSON. */
export type ApiRequestInit = Omit<RequestInit, 'body' | 'credentials'> & {
  body?: unknown;
};

/**
 * apiFetch calls the server API and resolves with the decoded JSON body.
 * `path` is relative to the API base, e.g. `apiFetch<Health>('/health')` requests
 * `/api/health`. Every failure — network, non-2xx status, undecodable body —
 * rejects with an {@link ApiError}.
 */
export async function apiFetch<T>(path: string, init: ApiRequestInit = {}): Promise<T> {
  const { body, headers: extraHeaders, ...rest } = init;
  const headers = new Headers(extraHeaders);
  headers.set('Accept', 'application/json');
  if (body !== undefined) {
    headers.set('Content-Type', 'application/json');
  }
  // Auth seam: the auth session module (style guide §15) will attach the
  // in-memory access token here and, on a 401, refresh once and retry once.
  // The token lives only in memory — never in localStorage/sessionStorage.

  let response: Response;
  try {
    response = await fetch(`${apiBasePath}${path}`, {
      ...rest,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (cause) {
    // fetch only rejects when no HTTP response arrived; an abort is the caller's
    // own doing (e.g. TanStack Query cancelling) and must stay recognisable.
    if (cause instanceof DOMException && cause.name === 'AbortError') {
      throw cause;
    }
    throw new ApiError({
      status: 0,
      code: 'network_error',
      message: 'Could not reach the server. Check your connection and try again.',
      cause,
    });
  }

  if (!response.ok) {
    throw await errorFromResponse(response);
  }
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

/** errorFromResponse maps a non-2xx response to an ApiError, using the server's error body when it has one. */
async function errorFromResponse(response: Response): Promise<ApiError> {
  const fallback = {
    status: response.status,
    code: `http_${String(response.status)}`,
    message: `The server answered ${String(response.status)}${response.statusText ? ` ${response.statusText}` : ''}.`,
    requestId: response.headers.get('X-Request-ID') ?? undefined,
  };
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return new ApiError(fallback);
  }
  if (!isErrorBody(body)) {
    return new ApiError(fallback);
  }
  return new ApiError({
    status: response.status,
    code: body.error,
    message: body.message,
    requestId: body.request_id ?? fallback.requestId,
    details: body.details,
  });
}

/** ErrorBody is the server's stable JSON error shape. */
interface ErrorBody {
  error: string;
  message: string;
  request_id?: string;
  details?: unknown[];
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return (
    typeof v['error'] === 'string' &&
    typeof v['message'] === 'string' &&
    (v['request_id'] === undefined || typeof v['request_id'] === 'string') &&
    (v['details'] === undefined || Array.isArray(v['details']))
  );
}
