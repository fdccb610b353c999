import { Stack, Text, Title } from '@mantine/core';

import { ChangePasswordForm } from '@/features/account/components/change-password-form';
import { ProfileCard } from '@/features/account/components/profile-card';
import { SessionsList } from '@/features/account/components/sessions-list';

/** AccountRoute is the user's own account: profile, password, sessions. */
export function AccountRoute() {
  return (
    <Stack gap="lg">
      <div>
        <Title order={1}>Account</Title>
        <Text c="dimmed" mt="xs">
          Your profile, your password and where you are signed in.
        </Text>
      </div>
      <ProfileCard />
      <ChangePasswordForm />
      <SessionsList />
    </Stack>
  );
}
