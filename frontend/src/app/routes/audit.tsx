import { Stack, Text, Title } from '@mantine/core';

import { AuditLog } from '@/features/audit/components/audit-log';

/** AuditRoute is the admins' view of the audit trail. */
export function AuditRoute() {
  return (
    <Stack gap="lg">
      <div>
        <Title order={1}>Audit log</Title>
        <Text c="dimmed" mt="xs">
          Sign-ins, sign-outs, sessions ended and account changes, newest first.
        </Text>
      </div>
      <AuditLog />
    </Stack>
  );
}
