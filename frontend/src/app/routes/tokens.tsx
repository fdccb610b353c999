import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { TokensTable } from '@/features/tokens/components/tokens-table';
import { usePermissions } from '@/lib/authorization';

/** TokensRoute is where people make API tokens for their cluster jobs, and revoke them. */
export function TokensRoute() {
  const { can } = usePermissions();
  return (
    <Stack gap="lg">
      <PageHeader title="API tokens">
        Cluster jobs report runs with an API token instead of your password. A token is shown once, when it is
        created.
        {can('tokens:manage-all') && ' As an admin you see everyone’s tokens and can revoke any of them.'}
      </PageHeader>
      <TokensTable />
    </Stack>
  );
}
