import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { AuditLog } from '@/features/audit/components/audit-log';

/** AuditRoute is the admins' view of the audit trail. */
export function AuditRoute() {
  return (
    <Stack gap="lg">
      <PageHeader title="Audit log">
        Sign-ins, sign-outs, sessions ended and account changes, newest first.
      </PageHeader>
      <AuditLog />
    </Stack>
  );
}
