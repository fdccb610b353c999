import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { UsersTable } from '@/features/users/components/users-table';

/** UsersRoute is the admins' account management page. */
export function UsersRoute() {
  return (
    <Stack gap="lg">
      <PageHeader title="Users">
        Create accounts, change roles, reset passwords and end sessions.
      </PageHeader>
      <UsersTable />
    </Stack>
  );
}
