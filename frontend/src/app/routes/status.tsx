import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { HealthDetails } from '@/features/health/components/health-details';

/** StatusRoute shows the full server health report. */
export function StatusRoute() {
  return (
    <Stack gap="lg">
      <PageHeader title="Server status">
        What the labreview server reports about itself and its database.
      </PageHeader>
      <HealthDetails />
    </Stack>
  );
}
