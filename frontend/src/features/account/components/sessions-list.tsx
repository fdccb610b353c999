import { Badge, Button, Card, Group, Loader, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useState } from 'react';

import { ConfirmDialog } from '@/components/confirm-dialog';
import { ErrorAlert } from '@/components/error-alert';
import { formatDateTime, formatRelative } from '@/lib/format';
import { describeUserAgent } from '@/lib/user-agent';

import { useRevokeSession, useSessions, useSignOutEverywhere } from '../api/sessions';

/** SessionsList shows where the user is signed in, and ends sessions: one, or all. */
export function SessionsList() {
  const sessions = useSessions();
  const revoke = useRevokeSession();
  const everywhere = useSignOutEverywhere();
  const [confirmAll, setConfirmAll] = useState(false);

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="sessions-heading">
      <Stack gap="md">
        <Group justify="space-between" align="center">
          <Title order={2} size="h4" id="sessions-heading">
            Where you are signed in
          </Title>
          <Button
            variant="light"
            color="red"
            size="xs"
            onClick={() => {
              everywhere.reset();
              setConfirmAll(true);
            }}
          >
            Sign out everywhere
          </Button>
        </Group>
        {revoke.isError && <ErrorAlert error={revoke.error} title="Could not end that session" />}
        {sessions.isPending ? (
          <Loader size="sm" aria-label="Loading your sessions" />
        ) : sessions.isError ? (
          <ErrorAlert error={sessions.error} title="Could not load your sessions" />
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table verticalSpacing="xs" aria-labelledby="sessions-heading" data-testid="sessions-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Device</Table.Th>
                  <Table.Th scope="col">IP address</Table.Th>
                  <Table.Th scope="col">Last active</Table.Th>
                  <Table.Th scope="col">Signed in</Table.Th>
                  <Table.Th scope="col">
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {sessions.data.map((s) => (
                  <Table.Tr key={s.id}>
                    <Table.Td>
                      <Group gap="xs">
                        <Text size="sm" title={s.user_agent}>
                          {describeUserAgent(s.user_agent)}
                        </Text>
                        {s.current && (
                          <Badge size="sm" color="green" variant="light">
                            This browser
                          </Badge>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{s.ip || '—'}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" title={formatDateTime(s.last_used_at)}>
                        {formatRelative(s.last_used_at)}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDateTime(s.created_at)}</Text>
                    </Table.Td>
                    <Table.Td>
                      {!s.current && (
                        <Button
                          variant="subtle"
                          color="red"
                          size="xs"
                          loading={revoke.isPending && revoke.variables === s.id}
                          onClick={() => {
                            revoke.mutate(s.id);
                          }}
                          aria-label={`Sign out ${describeUserAgent(s.user_agent)} (${s.ip || 'unknown address'})`}
                        >
                          Sign out
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Stack>
      <ConfirmDialog
        opened={confirmAll}
        title="Sign out everywhere?"
        confirmLabel="Sign out everywhere"
        danger
        pending={everywhere.isPending}
        error={everywhere.error}
        onConfirm={() => {
          everywhere.mutate();
        }}
        onClose={() => {
          setConfirmAll(false);
        }}
      >
        Every session of your account ends, on every device and browser, this one included. You will need to sign in again.
      </ConfirmDialog>
    </Card>
  );
}
