import { Stack, Text, Title } from '@mantine/core';

import { UsersTable } from '@/features/users/components/users-table';

/** UsersRoute is the admins' account management page. */
export function UsersRoute() {
  return (
    <Stack gap="lg">
      <div>
        <Title order={1}>Users</Title>
        <Text c="dimmed" mt="xs">
          Create accounts, change roles, reset passwords and end sessions.
        </Text>
      </div>
      <UsersTable />
    </Stack>
  );
}
