/** paths lists the client-side routes, so links and the router cannot drift apart. */
export const paths = {
  runs: { path: '/runs', label: 'Runs' },
  compare: { path: '/compare', label: 'Compare runs' },
  status: { path: '/status', label: 'Server status' },
  account: { path: '/account', label: 'Account' },
  users: { path: '/admin/users', label: 'Users' },
  audit: { path: '/admin/audit', label: 'Audit log' },
  signIn: { path: '/login', label: 'Sign in' },
  setup: { path: '/setup', label: 'First-run setup' },
} as const;

/**
 * safeReturnPath accepts a `next` parameter only when it is a path on this
 * site (not `//host` or a URL), and not one of the sign-in pages themselves.
 */
export function safeReturnPath(raw: string | null): string {
  if (raw === null || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) {
    return paths.runs.path;
  }
  const pathname = raw.split(/[?#]/)[0] ?? '';
  if (pathname === paths.signIn.path || pathname === paths.setup.path) {
    return paths.runs.path;
  }
  return raw;
}

/** signInPath is the sign-in page that returns to `returnTo` afterwards. */
export function signInPath(returnTo: string): string {
  const safe = safeReturnPath(returnTo);
  return safe === paths.runs.path ? paths.signIn.path : `${paths.signIn.path}?next=${encodeURIComponent(safe)}`;
}
