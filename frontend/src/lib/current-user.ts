import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import type { Me } from '@/types/api';

/** currentUserQueryOptions is the signed-in user's profile (GET /api/me), shared by the shell and the account page. */
export const currentUserQueryOptions = queryOptions({
  queryKey: ['me'],
  queryFn: ({ signal }) => apiFetch<Me>('/me', { signal }),
  staleTime: 60_000,
});

/** useCurrentUser subscribes to the signed-in user's profile. */
export function useCurrentUser() {
  return useQuery(currentUserQueryOptions);
}
