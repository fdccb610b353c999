import { Group, Stack, Text } from '@mantine/core';

import { useHealth } from '../api/get-health';
import { databaseModeLabel } from '../database-mode';

import { DatabaseStatusBadge, ServerStatusBadge } from './health-badges';
import { HealthError, HealthLoading } from './health-states';

/** HealthSummary is a compact, self-refreshing view of server health. */
export function HealthSummary() {
  const health = useHealth();

  if (health.isPending) {
    return <HealthLoading />;
  }
  if (health.isLoadingError) {
    return <HealthError title="Server health unavailable" error={health.error} />;
  }

  const { data } = health;
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <ServerStatusBadge status={data.status} prefix="Server" />
        <DatabaseStatusBadge status={data.database.status} prefix="Database" />
      </Group>
      <Text size="sm" c="dimmed">
        Version {data.version} · {databaseModeLabel[data.database.mode]}
      </Text>
      {health.isRefetchError && (
        <HealthError title="Latest health check failed; showing the previous result" error={health.error} />
      )}
    </Stack>
  );
}
