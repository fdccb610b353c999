import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import { usersQueryOptions } from '@/lib/users-query';
import type { User } from '@/types/api';

/** useUsers subscribes to the list of every account. */
export function useUsers() {
  return useQuery(usersQueryOptions);
}

/** NewUserInput is the body of POST /api/users. */
export interface NewUserInput {
  email: string;
  name: string;
  role: string;
  password: string;
}

/** UserPatch is the body of PATCH /api/users/{id}: only the fields to change. */
export interface UserPatch {
  name?: string;
  role?: string;
  disabled?: boolean;
}

function useInvalidateUsers() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: usersQueryOptions.queryKey });
}

/** useCreateUser creates an account. */
export function useCreateUser() {
  const invalidate = useInvalidateUsers();
  return useMutation({
    mutationFn: (input: NewUserInput) => apiFetch<User>('/users', { method: 'POST', body: input }),
    onSuccess: invalidate,
  });
}

/** useUpdateUser changes an account's name, role or disabled flag. */
export function useUpdateUser() {
  const invalidate = useInvalidateUsers();
  return useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: UserPatch }) =>
      apiFetch<User>(`/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: patch }),
    onSettled: invalidate,
  });
}

/** useDeleteUser deletes an account and ends its sessions. */
export function useDeleteUser() {
  const invalidate = useInvalidateUsers();
  return useMutation({
    mutationFn: (id: string) => apiFetch<undefined>(`/users/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSettled: invalidate,
  });
}

/** useResetPassword sets a new password for an account; the server ends its sessions. */
export function useResetPassword() {
  return useMutation({
    mutationFn: ({ id, password }: { id: string; password: string }) =>
      apiFetch<undefined>(`/users/${encodeURIComponent(id)}/password`, { method: 'POST', body: { new_password: password } }),
  });
}

/** useTerminateSessions ends every session of an account. */
export function useTerminateSessions() {
  return useMutation({
    mutationFn: (id: string) => apiFetch<undefined>(`/users/${encodeURIComponent(id)}/sessions`, { method: 'DELETE' }),
  });
}
