import { Badge } from '@mantine/core';

import type { Health } from '../types';

const serverStatus = {
  ok: { label: 'Operational', color: 'teal' },
  degraded: { label: 'Degraded', color: 'yellow' },
} as const satisfies Record<Health['status'], { label: string; color: string }>;

const databaseStatus = {
  up: { label: 'Up', color: 'teal' },
  down: { label: 'Down', color: 'red' },
} as const satisfies Record<Health['database']['status'], { label: string; color: string }>;

/** ServerStatusBadge shows the overall server status, optionally prefixed. */
export function ServerStatusBadge({ status, prefix }: { status: Health['status']; prefix?: string }) {
  const { label, color } = serverStatus[status];
  return (
    <Badge color={color} variant="light">
      {prefix === undefined ? label : `${prefix} ${label.toLowerCase()}`}
    </Badge>
  );
}

/** DatabaseStatusBadge shows whether the database is reachable, optionally prefixed. */
export function DatabaseStatusBadge({ status, prefix }: { status: Health['database']['status']; prefix?: string }) {
  const { label, color } = databaseStatus[status];
  return (
    <Badge color={color} variant="light">
      {prefix === undefined ? label : `${prefix} ${label.toLowerCase()}`}
    </Badge>
  );
}
