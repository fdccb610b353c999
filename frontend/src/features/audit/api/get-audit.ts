import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import type { AuditPage } from '@/types/api';

/** auditEvents lists every event name the server records. */
export const auditEvents = [
  'login_ok',
  'login_failed',
  'login_throttled',
  'refresh_reuse',
  'logout',
  'logout_all',
  'session_revoked',
  'sessions_terminated',
  'password_changed',
  'password_reset',
  'setup',
  'user_created',
  'user_changed',
  'user_deleted',
  'keys_rotated',
] as const;

/** auditPageSize is how many events one page shows. */
export const auditPageSize = 50;

/** AuditQuery selects one page: filters and the cursor of the page (undefined: newest). */
export interface AuditQuery {
  user: string | null;
  event: string | null;
  before: string | undefined;
}

/** auditQueryOptions fetches one page of the audit log, newest first. */
export function auditQueryOptions(q: AuditQuery) {
  const params = new URLSearchParams({ limit: String(auditPageSize) });
  if (q.user !== null) {
    params.set('user', q.user);
  }
  if (q.event !== null) {
    params.set('event', q.event);
  }
  if (q.before !== undefined) {
    params.set('before', q.before);
  }
  return queryOptions({
    queryKey: ['audit', q.user, q.event, q.before],
    queryFn: ({ signal }) => apiFetch<AuditPage>(`/audit?${params.toString()}`, { signal }),
    placeholderData: keepPreviousData,
  });
}

/** useAudit subscribes to one page of the audit log. */
export function useAudit(q: AuditQuery) {
  return useQuery(auditQueryOptions(q));
}
