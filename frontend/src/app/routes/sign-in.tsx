import { Alert, Stack } from '@mantine/core';
import { Navigate, useSearchParams } from 'react-router';

import { PageHeader } from '@/components/page-header';
import { SessionLoading } from '@/components/session-loading';
import { safeReturnPath } from '@/config/paths';
import { SignInForm } from '@/features/auth/components/sign-in-form';
import { clearSessionNotice, type SessionNotice } from '@/lib/session/session';
import { useSession } from '@/lib/session/use-session';

const notices: Record<SessionNotice, { title: string; text: string; color: string }> = {
  'signed-out': { title: 'Signed out', text: 'You have signed out.', color: 'blue' },
  'signed-out-elsewhere': { title: 'Signed out', text: 'You signed out in another tab.', color: 'blue' },
  'signed-out-everywhere': {
    title: 'Signed out everywhere',
    text: 'You signed out on every device and browser.',
    color: 'blue',
  },
  'session-ended': {
    title: 'Your session has ended',
    text: 'It was ended by an administrator or from another device, your password was changed, or it expired. Sign in again to continue.',
    color: 'orange',
  },
};

/**
 * SignInRoute is the sign-in page. A tab that is (or becomes, e.g. because
 * another tab signed in) signed in goes on to the page it was sent from.
 */
export function SignInRoute() {
  const { status, notice } = useSession();
  const [params] = useSearchParams();
  if (status === 'loading') {
    return <SessionLoading />;
  }
  if (status === 'signed-in') {
    return <Navigate to={safeReturnPath(params.get('next'))} replace />;
  }
  const shown = notice === null ? null : notices[notice];
  return (
    <Stack gap="lg">
      <PageHeader title="Sign in">
        Sign in to labreview with your email address and password.
      </PageHeader>
      {shown !== null && (
        <Alert
          color={shown.color}
          variant="light"
          title={shown.title}
          role="status"
          withCloseButton
          closeButtonLabel="Dismiss"
          onClose={clearSessionNotice}
          data-testid="session-notice"
        >
          {shown.text}
        </Alert>
      )}
      <SignInForm />
    </Stack>
  );
}
