import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { ChangePasswordForm } from '@/features/account/components/change-password-form';
import { ProfileCard } from '@/features/account/components/profile-card';
import { SessionsList } from '@/features/account/components/sessions-list';

/** AccountRoute is the user's own account: profile, password, sessions. */
export function AccountRoute() {
  return (
    <Stack gap="lg">
      <PageHeader title="Account">
        Your profile, your password and where you are signed in.
      </PageHeader>
      <ProfileCard />
      <ChangePasswordForm />
      <SessionsList />
    </Stack>
  );
}
