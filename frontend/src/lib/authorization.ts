/**
 * What each role may do, so the UI offers only actions the server will allow.
 * The server decides (routes.go); this mirrors it for display. The role comes
 * from the access token's claims, which is exactly what the server checks.
 */

/** Role is one of the server's roles. */
export type Role = 'viewer' | 'reviewer' | 'admin';

/** roles lists the roles from least to most privileged. */
export const roles: readonly Role[] = ['viewer', 'reviewer', 'admin'];

/** roleLabels are the roles' names for people. */
export const roleLabels: Record<Role, string> = { viewer: 'Viewer', reviewer: 'Reviewer', admin: 'Admin' };

/**
 * Permission names an action or page that not every role has. `runs:write`
 * (create and change runs) is also the API token scope only reviewers and
 * admins may hold; `runs:review` gives verdicts and sets baselines;
 * `runs:delete` deletes and restores runs; `tokens:all` sees and revokes
 * everyone's API tokens.
 */
export type Permission = 'users:manage' | 'audit:read' | 'runs:write' | 'runs:review' | 'runs:delete' | 'tokens:all';

const grants: Record<Role, readonly Permission[]> = {
  viewer: [],
  reviewer: ['runs:write', 'runs:review'],
  admin: ['users:manage', 'audit:read', 'runs:write', 'runs:review', 'runs:delete', 'tokens:all'],
};

/** isRole narrows a claim or API value to a known role. */
export function isRole(value: string | undefined | null): value is Role {
  return roles.some((r) => r === value);
}

/** can tells whether `role` has `permission`; unknown roles have none. */
export function can(role: string | undefined | null, permission: Permission): boolean {
  return isRole(role) && grants[role].includes(permission);
}

/** roleLabel names a role for people, passing unknown values through. */
export function roleLabel(role: string): string {
  return isRole(role) ? roleLabels[role] : role;
}
