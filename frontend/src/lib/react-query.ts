import { QueryClient } from '@tanstack/react-query';

import { ApiError } from '@/lib/api-client';

const maxRetries = 2;

let current: QueryClient | null = null;

/**
 * registerQueryClient makes `client` the one route loaders prefetch into
 * (AppProvider registers its client; tests register theirs).
 */
export function registerQueryClient(client: QueryClient): void {
  current = client;
}

/** currentQueryClient is the registered client, or null before the app renders. */
export function currentQueryClient(): QueryClient | null {
  return current;
}

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
