import { queryOptions } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import type { User } from '@/types/api';

/** usersQueryOptions lists every account (admins only); the users page and the audit filter share it. */
export const usersQueryOptions = queryOptions({
  queryKey: ['users'],
  queryFn: async ({ signal }) => (await apiFetch<{ users: User[] }>('/users', { signal })).users,
});
