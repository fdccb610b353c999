import type { components } from '@/types/openapi';

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
  /** Seconds to wait before trying again, from the Retry-After header (429, 503). */
  readonly retryAfterSeconds: number | undefined;
  /** Where a query went wrong (`invalid_query`): 1-based character column and byte offset. */
  readonly position: QueryPosition | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    requestId?: string | undefined;
    details?: readonly unknown[] | undefined;
    retryAfterSeconds?: number | undefined;
    position?: QueryPosition | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.position = init.position;
  }
}

/** QueryPosition locates a query syntax error: `column` counts characters from 1. */
export type QueryPosition = components['schemas']['QueryPosition'];

/** FieldProblem is one entry of an error body's `details`: which input field is wrong and why. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** fieldProblems returns the well-formed `{field, message}` entries of an error's details. */
export function fieldProblems(error: unknown): FieldProblem[] {
  if (!(error instanceof ApiError) || error.details === undefined) {
    return [];
  }
  return error.details.filter(
    (d): d is FieldProblem =>
      typeof d === 'object' &&
      d !== null &&
      typeof (d as Record<string, unknown>)['field'] === 'string' &&
      typeof (d as Record<string, unknown>)['message'] === 'string',
  );
}

/** networkError is the ApiError for a request that got no HTTP response at all. */
export function networkError(cause: unknown): ApiError {
  return new ApiError({
    status: 0,
    code: 'network_error',
    message: 'Could not reach the server. Check your connection and try again.',
    cause,
  });
}

/** isAbortError tells an abort (the caller's own doing) from a real failure. */
export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** retryAfterSeconds reads a Retry-After header given in seconds (the server never sends a date). */
export function retryAfterSeconds(response: Response): number | undefined {
  const raw = response.headers.get('Retry-After');
  if (raw === null || !/^\d+$/.test(raw.trim())) {
    return undefined;
  }
  return Number(raw.trim());
}

/** errorFromResponse maps a non-2xx response to an ApiError, using the server's error body when it has one. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const fallback = {
    status: response.status,
    code: `http_${String(response.status)}`,
    message: `The server answered ${String(response.status)}${response.statusText ? ` ${response.statusText}` : ''}.`,
    requestId: response.headers.get('X-Request-ID') ?? undefined,
    retryAfterSeconds: retryAfterSeconds(response),
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
    ...fallback,
    code: body.error,
    message: body.message,
    requestId: body.request_id ?? fallback.requestId,
    details: body.details,
    position: isPosition(body.position) ? body.position : undefined,
  });
}

function isPosition(value: unknown): value is QueryPosition {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v['column'] === 'number' && typeof v['offset'] === 'number';
}

/** ErrorBody is the server's stable JSON error shape. */
interface ErrorBody {
  error: string;
  message: string;
  request_id?: string;
  details?: unknown[];
  position?: unknown;
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
