import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import { signOut } from '@/lib/session/session';
import type { AuthSession } from '@/types/api';

/** sessionsQueryOptions lists the signed-in user's live sessions. */
export const sessionsQueryOptions = queryOptions({
  queryKey: ['auth', 'sessions'],
  queryFn: async ({ signal }) => (await apiFetch<{ sessions: AuthSession[] }>('/auth/sessions', { signal })).sessions,
});

/** useSessions subscribes to the signed-in user's sessions. */
export function useSessions() {
  return useQuery(sessionsQueryOptions);
}

/** useRevokeSession ends one of the user's other sessions. */
export function useRevokeSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => apiFetch<undefined>(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: sessionsQueryOptions.queryKey }),
  });
}

/** useSignOutEverywhere ends every session of the user, this one included, then signs every tab out. */
export function useSignOutEverywhere() {
  return useMutation({
    mutationFn: async () => {
      await apiFetch<undefined>('/auth/logout-all', { method: 'POST' });
      await signOut({ notice: 'signed-out-everywhere', tellServer: false });
    },
  });
}
