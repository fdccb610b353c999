import { Anchor, Code, Stack, Text, Title } from '@mantine/core';
import { Link, useLocation } from 'react-router';

import { paths } from '@/config/paths';

/** NotFoundRoute is rendered inside the shell for any client path without a page. */
export function NotFoundRoute() {
  const { pathname } = useLocation();
  return (
    <Stack gap="sm" align="flex-start">
      <Title order={1}>Page not found</Title>
      <Text>
        There is no page at <Code>{pathname}</Code>.
      </Text>
      <Anchor component={Link} to={paths.runs.path}>
        Go to the runs
      </Anchor>
    </Stack>
  );
}
