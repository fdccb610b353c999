import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';

/** setupStatusQueryOptions asks whether first-run setup is still needed (GET /api/setup, public). */
export const setupStatusQueryOptions = queryOptions({
  queryKey: ['setup'],
  queryFn: ({ signal }) => apiFetch<{ needed: boolean }>('/setup', { signal, auth: false }),
});

/** useSetupStatus subscribes to whether setup is needed. */
export function useSetupStatus() {
  return useQuery(setupStatusQueryOptions);
}
