import { Alert, Anchor, Loader, Stack } from '@mantine/core';
import { Link, useNavigate, useSearchParams } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { PageHeader } from '@/components/page-header';
import { paths } from '@/config/paths';
import { useSetupStatus } from '@/features/auth/api/get-setup-status';
import { SetupForm } from '@/features/auth/components/setup-form';

/**
 * SetupRoute is the first-run page, opened from the one-time link the server
 * logs while no admin exists (`/setup?token=…`).
 */
export function SetupRoute() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const status = useSetupStatus();
  const token = params.get('token') ?? '';

  let body;
  if (status.isPending) {
    body = <Loader size="sm" aria-label="Checking whether setup is needed" />;
  } else if (status.isError) {
    body = <ErrorAlert error={status.error} title="Could not check whether setup is needed" />;
  } else if (!status.data.needed) {
    body = (
      <Alert color="blue" variant="light" title="Setup is done">
        An admin account exists already.{' '}
        <Anchor component={Link} to={paths.signIn.path}>
          Sign in
        </Anchor>
        .
      </Alert>
    );
  } else if (token === '') {
    body = (
      <Alert color="orange" variant="light" title="The setup link is incomplete" role="alert">
        Open the one-time link the server printed in its log when it started (it ends in <code>/setup?token=…</code>).
      </Alert>
    );
  } else {
    body = (
      <SetupForm
        token={token}
        onDone={() => {
          // Replace the entry, so the one-time token leaves the address bar and history.
          void navigate(paths.runs.path, { replace: true });
        }}
      />
    );
  }

  return (
    <Stack gap="lg">
      <PageHeader title="Welcome to labreview">
        Create the first admin account. It can then invite everyone else.
      </PageHeader>
      {body}
    </Stack>
  );
}
