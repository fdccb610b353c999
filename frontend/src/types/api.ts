/** Shapes of the server's API responses (docs/api.md). */

/** User is an account as the API shows it (GET /api/me, /api/users). */
export interface User {
  id: string;
  email: string;
  name: string;
  role: string;
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

/** Me is the signed-in person (GET /api/me) with what the server's permission table lets them do. */
export interface Me extends User {
  permissions: string[];
}

/** AuthSession is one of the caller's sessions (GET /api/auth/sessions). */
export interface AuthSession {
  id: string;
  created_at: string;
  last_used_at: string;
  user_agent: string;
  ip: string;
  current: boolean;
}

/** AuditEvent is one entry of the audit log (GET /api/audit). */
export interface AuditEvent {
  id: string;
  at: string;
  event: string;
  actor_id?: string;
  user_id?: string;
  email?: string;
  session_id?: string;
  ip?: string;
  user_agent?: string;
  details?: Record<string, unknown>;
}

/** AuditPage is one page of audit events; `next` is the cursor of the following (older) page. */
export interface AuditPage {
  events: AuditEvent[];
  next: string | null;
}

/** TokenScope is what an API token may do: read runs, or create and change them. */
export type TokenScope = 'runs:read' | 'runs:write';

/** ApiToken is an API token as the API shows it (GET /api/tokens): never its secret or hash. */
export interface ApiToken {
  id: string;
  name: string;
  /** The secret's last four characters, to tell tokens apart. */
  hint: string;
  scopes: TokenScope[];
  /** Empty: every project. */
  projects: string[];
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'expired' | 'revoked';
  /** In an admin's list only. */
  owner?: { id: string; email: string; name: string };
}

/** CreatedApiToken is the answer to POST /api/tokens: the token with its secret, shown this once. */
export interface CreatedApiToken extends ApiToken {
  token: string;
}

/** RunStatus is a run's state as a job reports it. */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** ReviewState is a run's current verdict. */
export type ReviewState = 'unreviewed' | 'approved' | 'rejected' | 'needs_rerun';

/** Project is one project with its run counts (GET /api/projects). */
export interface Project {
  name: string;
  /** Live (not deleted) runs. */
  runs: number;
  deleted: number;
  by_status: Partial<Record<RunStatus, number>>;
  by_review: Partial<Record<ReviewState, number>>;
  /** Runs whose verdict was given on data that has changed since. */
  outdated: number;
  last_activity: string | null;
  baseline_run: string | null;
}
