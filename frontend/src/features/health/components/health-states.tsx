import { Alert, Group, Loader, Text } from '@mantine/core';

import { ApiError } from '@/lib/api-client';

/** HealthLoading is shown until the first health report arrives. */
export function HealthLoading() {
  return (
    <Group gap="xs" role="status">
      <Loader size="sm" />
      <Text size="sm">Checking server health…</Text>
    </Group>
  );
}

/** HealthError explains why the health report could not be loaded. */
export function HealthError({ error, title }: { error: Error; title: string }) {
  return (
    <Alert color="red" variant="light" title={title}>
      <Text size="sm">{error.message}</Text>
      {error instanceof ApiError && error.requestId !== undefined && (
        <Text size="xs" c="dimmed" mt={4}>
          Request ID: {error.requestId}
        </Text>
      )}
    </Alert>
  );
}
