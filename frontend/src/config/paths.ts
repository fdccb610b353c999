/** paths lists the client-side routes, so links and the router cannot drift apart. */
export const paths = {
  runs: { path: '/runs', label: 'Runs' },
  compare: { path: '/compare', label: 'Compare runs' },
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

/**
 * projectRunsPath is the runs table filtered to one project with the project
 * chip (`/runs?project=`): the list then reads exact counts from the
 * project's counters.
 */
export function projectRunsPath(project: string): string {
  return `${paths.runs.path}?${new URLSearchParams({ project }).toString()}`;
}
