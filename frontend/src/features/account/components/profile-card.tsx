import { Badge, Card, DataList, Loader, Stack, Title } from '@mantine/core';

import { ErrorAlert } from '@/components/error-alert';
import { roleLabel } from '@/lib/authorization';
import { useCurrentUser } from '@/lib/current-user';
import { formatDateTime } from '@/lib/format';

/** ProfileCard shows who is signed in. */
export function ProfileCard() {
  const me = useCurrentUser();
  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="profile-heading">
      <Stack gap="sm">
        <Title order={2} size="h4" id="profile-heading">
          Profile
        </Title>
        {me.isPending ? (
          <Loader size="sm" aria-label="Loading your profile" />
        ) : me.isError ? (
          <ErrorAlert error={me.error} title="Could not load your profile" />
        ) : (
          <DataList labelWidth="9rem" withDivider>
            <DataList.Item>
              <DataList.ItemLabel>Name</DataList.ItemLabel>
              <DataList.ItemValue>{me.data.name}</DataList.ItemValue>
            </DataList.Item>
            <DataList.Item>
              <DataList.ItemLabel>Email</DataList.ItemLabel>
              <DataList.ItemValue>{me.data.email}</DataList.ItemValue>
            </DataList.Item>
            <DataList.Item>
              <DataList.ItemLabel>Role</DataList.ItemLabel>
              <DataList.ItemValue>
                <Badge variant="light">{roleLabel(me.data.role)}</Badge>
              </DataList.ItemValue>
            </DataList.Item>
            <DataList.Item>
              <DataList.ItemLabel>Member since</DataList.ItemLabel>
              <DataList.ItemValue>{formatDateTime(me.data.created_at)}</DataList.ItemValue>
            </DataList.Item>
          </DataList>
        )}
      </Stack>
    </Card>
  );
}
