import { Stack, Text, Title } from '@mantine/core';

import { HealthDetails } from '@/features/health/components/health-details';

/** StatusRoute shows the full server health report. */
export function StatusRoute() {
  return (
    <Stack gap="lg">
      <div>
        <Title order={1}>Server status</Title>
        <Text c="dimmed" mt="xs">
          What the labreview server reports about itself and its database.
        </Text>
      </div>
      <HealthDetails />
    </Stack>
  );
}
