import { Anchor, Card, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';

import { paths } from '@/config/paths';
import { HealthSummary } from '@/features/health/components/health-summary';

/** OverviewRoute is the landing page. */
export function OverviewRoute() {
  return (
    <Stack gap="lg">
      <div>
        <Title order={1}>Welcome to labreview</Title>
        <Text c="dimmed" mt="xs">
          A quick look at the server’s health is below; Server status has the full report.
        </Text>
      </div>
      <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="server-health-heading">
        <Stack gap="sm">
          <Title order={2} size="h4" id="server-health-heading">
            Server health
          </Title>
          <HealthSummary />
          <Anchor component={Link} to={paths.status.path} size="sm">
            View full server status
          </Anchor>
        </Stack>
      </Card>
    </Stack>
  );
}
