import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { CompareView } from '@/features/runs/components/compare-view';

/** CompareRoute overlays and sets side by side up to 100 runs (loaded on demand). */
export function CompareRoute() {
  return (
    <Stack gap="md">
      <PageHeader title="Compare runs">
        A series of up to 100 runs overlaid, or grouped by a param or tag with a band; their verdicts and comments;
        params and metrics side by side, differences marked. The address holds the runs and the choices: share it by
        link.
      </PageHeader>
      <CompareView />
    </Stack>
  );
}
