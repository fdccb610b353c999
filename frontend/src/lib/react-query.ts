import { QueryClient } from '@tanstack/react-query';

import { ApiError } from '@/lib/api-client';

const maxRetries = 2;

/** createQueryClient returns the app's QueryClient; tests call it for a fresh cache each. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A 4xx will not change by asking again; network errors and 5xx might.
        retry: (failureCount, error) =>
          !(error instanceof ApiError && error.status >= 400 && error.status < 500) &&
          failureCount < maxRetries,
      },
    },
  });
}
