import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { RunsView } from '@/features/runs/components/runs-view';

/** RunsRoute is the first page after sign-in: the runs table with its query bar. */
export function RunsRoute() {
  return (
    <Stack gap="md">
      <PageHeader title="Runs">
        Filter with the query bar or the chips, sort by a column, select runs to review or compare. The address
        holds the view: share it by link.
      </PageHeader>
      <RunsView />
    </Stack>
  );
}
