import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { TokensTable } from '@/features/tokens/components/tokens-table';
import { can } from '@/lib/authorization';
import { useSession } from '@/lib/session/use-session';

/** TokensRoute is where people make API tokens for their cluster jobs, and revoke them. */
export function TokensRoute() {
  const { user } = useSession();
  return (
    <Stack gap="lg">
      <PageHeader title="API tokens">
        Cluster jobs report runs with an API token instead of your password. A token is shown once, when it is
        created.
        {can(user?.role, 'tokens:all') && ' As an admin you see everyone’s tokens and can revoke any of them.'}
      </PageHeader>
      <TokensTable />
    </Stack>
  );
}
