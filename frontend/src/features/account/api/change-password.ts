import { useMutation } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';

/** ChangePasswordInput is the body of POST /api/me/password. */
export interface ChangePasswordInput {
  current_password: string;
  new_password: string;
}

/** useChangePassword changes the signed-in user's password; the server ends their other sessions. */
export function useChangePassword() {
  return useMutation({
    mutationFn: (input: ChangePasswordInput) => apiFetch<undefined>('/me/password', { method: 'POST', body: input }),
  });
}
