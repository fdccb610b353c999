import { Button, DataList, Group, Stack, Text } from '@mantine/core';

import { healthRefetchIntervalMs, useHealth } from '../api/get-health';
import { databaseModeLabel } from '../database-mode';

import { DatabaseStatusBadge, ServerStatusBadge } from './health-badges';
import { HealthError, HealthLoading } from './health-states';

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** HealthDetails shows every field of the server health report and lets the user re-check. */
export function HealthDetails() {
  const health = useHealth();

  if (health.isPending) {
    return <HealthLoading />;
  }

  const refresh = (
    <Group gap="sm">
      <Button variant="default" size="xs" loading={health.isFetching} onClick={() => void health.refetch()}>
        Check now
      </Button>
      <Text size="xs" c="dimmed">
        Checked automatically every {healthRefetchIntervalMs / 1000} seconds.
      </Text>
    </Group>
  );

  if (health.isLoadingError) {
    return (
      <Stack gap="md">
        <HealthError title="Server health unavailable" error={health.error} />
        {refresh}
      </Stack>
    );
  }

  const { data } = health;
  return (
    <Stack gap="md">
      {health.isRefetchError && (
        <HealthError title="Latest health check failed; showing the previous result" error={health.error} />
      )}
      <DataList labelWidth="10rem" withDivider>
        <DataList.Item>
          <DataList.ItemLabel>Server</DataList.ItemLabel>
          <DataList.ItemValue>
            <ServerStatusBadge status={data.status} />
          </DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Version</DataList.ItemLabel>
          <DataList.ItemValue>{data.version}</DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Database</DataList.ItemLabel>
          <DataList.ItemValue>
            <DatabaseStatusBadge status={data.database.status} />
          </DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Database mode</DataList.ItemLabel>
          <DataList.ItemValue>{databaseModeLabel[data.database.mode]}</DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Last successful check</DataList.ItemLabel>
          <DataList.ItemValue>{timeFormat.format(health.dataUpdatedAt)}</DataList.ItemValue>
        </DataList.Item>
      </DataList>
      {refresh}
    </Stack>
  );
}
