import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import type { ApiToken, CreatedApiToken, TokenScope } from '@/types/api';

/** tokensQueryOptions lists the caller's API tokens; an admin's list holds everyone's, with owners. */
export const tokensQueryOptions = queryOptions({
  queryKey: ['tokens'],
  queryFn: async ({ signal }) => (await apiFetch<{ tokens: ApiToken[] }>('/tokens', { signal })).tokens,
});

/** useTokens subscribes to the token list (newest first; revoked and expired ones included). */
export function useTokens() {
  return useQuery(tokensQueryOptions);
}

/** NewTokenInput is the body of POST /api/tokens. */
export interface NewTokenInput {
  name: string;
  scopes: TokenScope[];
  /** Empty: every project. */
  projects: string[];
  expires_in_days: number;
}

/**
 * useCreateToken creates a token. Its secret is in the mutation's result only:
 * call `reset()` once it has been shown, so it does not stay in memory.
 */
export function useCreateToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: NewTokenInput) => apiFetch<CreatedApiToken>('/tokens', { method: 'POST', body: input }),
    // The mutation cache would otherwise keep the result (with the secret) for 5 minutes after reset().
    gcTime: 0,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokensQueryOptions.queryKey }),
  });
}

/** useRevokeToken revokes a token at once (revoking twice is fine). */
export function useRevokeToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => apiFetch<undefined>(`/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: tokensQueryOptions.queryKey }),
  });
}
