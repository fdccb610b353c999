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
