/**
 * What the signed-in person may do, so the UI offers only actions the server
 * will allow. The server's permission table (auth/policy) decides; GET /api/me
 * lists the caller's permissions from it, and the UI reads them from there,
 * never from the role.
 */
import { useCurrentUser } from '@/lib/current-user';

/** Role is one of the server's roles. */
export type Role = 'viewer' | 'reviewer' | 'admin';

/** roles lists the roles from least to most privileged. */
export const roles: readonly Role[] = ['viewer', 'reviewer', 'admin'];

/** roleLabels are the roles' names for people. */
export const roleLabels: Record<Role, string> = { viewer: 'Viewer', reviewer: 'Reviewer', admin: 'Admin' };

/**
 * Permission is one row name of the server's permission table: `runs:write`
 * creates and changes runs (also a token scope), `runs:review` gives verdicts
 * and sets baselines, `runs:delete` deletes and restores runs, `runs:moderate`
 * removes anyone's comment, `tokens:manage-all` sees and revokes everyone's
 * API tokens.
 */
export type Permission =
  | 'runs:read'
  | 'runs:write'
  | 'runs:comment'
  | 'runs:review'
  | 'runs:delete'
  | 'runs:moderate'
  | 'users:manage'
  | 'tokens:manage-all'
  | 'audit:read'
  | 'account';

/** isRole narrows a claim or API value to a known role. */
export function isRole(value: string | undefined | null): value is Role {
  return roles.some((r) => r === value);
}

/** roleLabel names a role for people, passing unknown values through. */
export function roleLabel(role: string): string {
  return isRole(role) ? roleLabels[role] : role;
}

/** Permissions answers what the signed-in person may do; `pending` while /api/me loads. */
export interface Permissions {
  can: (permission: Permission) => boolean;
  pending: boolean;
}

/** usePermissions reads the caller's permissions from GET /api/me. Until they arrive, nothing is allowed. */
export function usePermissions(): Permissions {
  const me = useCurrentUser();
  const granted = me.data?.permissions ?? [];
  return {
    can: (permission) => granted.includes(permission),
    pending: me.isPending,
  };
}
