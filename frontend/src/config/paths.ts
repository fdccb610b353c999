/** paths lists the client-side routes, so links and the router cannot drift apart. */
export const paths = {
  overview: { path: '/', label: 'Overview' },
  projects: { path: '/projects', label: 'Projects' },
  status: { path: '/status', label: 'Server status' },
  tokens: { path: '/tokens', label: 'API tokens' },
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
    return paths.overview.path;
  }
  const pathname = raw.split(/[?#]/)[0] ?? '';
  if (pathname === paths.signIn.path || pathname === paths.setup.path) {
    return paths.overview.path;
  }
  return raw;
}

/** signInPath is the sign-in page that returns to `returnTo` afterwards. */
export function signInPath(returnTo: string): string {
  const safe = safeReturnPath(returnTo);
  return safe === paths.overview.path ? paths.signIn.path : `${paths.signIn.path}?next=${encodeURIComponent(safe)}`;
}

/**
 * projectRunsPath is the runs table filtered to one project: `/runs?q=` and the
 * query `project = "<name>"`, with `"` and `\` in the name escaped by a
 * backslash as the query language reads them (docs/query.md).
 */
export function projectRunsPath(project: string): string {
  const quoted = `"${project.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return `/runs?q=${encodeURIComponent(`project = ${quoted}`)}`;
}
