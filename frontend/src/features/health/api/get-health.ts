import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';

import type { Health } from '../types';

/** healthRefetchIntervalMs is how often an open page re-polls server health. */
export const healthRefetchIntervalMs = 15_000;

/** getHealth fetches the server's health report. */
export function getHealth({ signal }: { signal?: AbortSignal } = {}): Promise<Health> {
  return apiFetch<Health>('/health', { signal, auth: false });
}

/** healthQueryOptions is shared by every component that shows health, so they share one cache entry. */
export const healthQueryOptions = queryOptions({
  queryKey: ['health'],
  queryFn: ({ signal }) => getHealth({ signal }),
  refetchInterval: healthRefetchIntervalMs,
});

/** useHealth subscribes to the server health report. */
export function useHealth() {
  return useQuery(healthQueryOptions);
}
