import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { CompareView } from '@/features/runs/components/compare-view';

/** CompareRoute sets 2–4 runs side by side (loaded on demand). */
export function CompareRoute() {
  return (
    <Stack gap="md">
      <PageHeader title="Compare runs">
        Params and metrics side by side, differences marked, and a series overlaid. The address holds the runs: share
        it by link.
      </PageHeader>
      <CompareView />
    </Stack>
  );
}
