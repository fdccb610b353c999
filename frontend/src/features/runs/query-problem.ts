import { ApiError } from '@/lib/api-error';

import type { QueryProblem } from './components/query-bar';

/** queryProblem maps the server's invalid_query answer back onto the typed query. */
export function queryProblem(error: unknown, typedStart: number, typed: string): QueryProblem | null {
  if (!(error instanceof ApiError) || (error.code !== 'invalid_query' && error.code !== 'query_timeout')) {
    return null;
  }
  if (error.position === undefined) {
    return { message: error.message, column: null };
  }
  const column = error.position.column - typedStart;
  return { message: error.message, column: column >= 1 && column <= typed.length + 1 ? column : null };
}

