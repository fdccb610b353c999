import { Anchor, Card, Stack, Title } from '@mantine/core';
import { Link } from 'react-router';

import { PageHeader } from '@/components/page-header';
import { paths } from '@/config/paths';
import { HealthSummary } from '@/features/health/components/health-summary';

/** OverviewRoute is the landing page. */
export function OverviewRoute() {
  return (
    <Stack gap="lg">
      <PageHeader title="Welcome to labreview">
        A quick look at the server’s health is below; Server status has the full report.
      </PageHeader>
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
