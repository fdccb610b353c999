import { Alert, Anchor, Stack } from '@mantine/core';
import { Link, isRouteErrorResponse, useRouteError } from 'react-router';

import { paths } from '@/config/paths';

/** RouteError replaces a page that threw while rendering, so one broken page does not blank the app. */
export function RouteError() {
  const error = useRouteError();
  const detail = isRouteErrorResponse(error)
    ? `${String(error.status)} ${error.statusText}`
    : error instanceof Error
      ? error.message
      : 'Unknown error.';
  return (
    <Stack gap="sm" align="flex-start" p="md">
      <Alert color="red" variant="light" title="Something went wrong">
        {detail}
      </Alert>
      <Anchor component={Link} to={paths.runs.path} reloadDocument>
        Reload the runs page
      </Anchor>
    </Stack>
  );
}
