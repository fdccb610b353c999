import { Badge, Button, EmptyState, Group, Loader, Stack, Table, Text, VisuallyHidden } from '@mantine/core';
import { useState } from 'react';

import { ConfirmDialog } from '@/components/confirm-dialog';
import { ErrorAlert } from '@/components/error-alert';
import { FeedbackAlert } from '@/components/feedback-alert';
import { usePermissions } from '@/lib/authorization';
import { formatDateTime, formatRelative } from '@/lib/format';
import type { ApiToken } from '@/types/api';

import { useRevokeToken, useTokens } from '../api/tokens';

import { CreateTokenDialog } from './create-token-dialog';

const statusBadges: Record<ApiToken['status'], { label: string; color: string }> = {
  active: { label: 'Active', color: 'green' },
  expired: { label: 'Expired', color: 'gray' },
  revoked: { label: 'Revoked', color: 'red' },
};

/** Time shows a relative time with the absolute one beside it, both visible. */
function Time({ iso }: { iso: string }) {
  return (
    <Stack gap={0}>
      <Text size="sm" component="time" dateTime={iso}>
        {formatRelative(iso)}
      </Text>
      <Text size="xs" c="dimmed">
        {formatDateTime(iso)}
      </Text>
    </Stack>
  );
}

function Owner({ owner }: { owner: NonNullable<ApiToken['owner']> }) {
  if (owner.email === '') {
    // The owner's account is gone; the server still names its id.
    return (
      <Text size="sm" c="dimmed">
        Deleted account
      </Text>
    );
  }
  return (
    <Stack gap={0}>
      <Text size="sm">{owner.name}</Text>
      <Text size="xs" c="dimmed">
        {owner.email}
      </Text>
    </Stack>
  );
}

/**
 * TokensTable lists API tokens (revoked and expired ones too, newest first),
 * creates them and revokes them. Admins see everyone's tokens, with owners.
 */
export function TokensTable() {
  const tokens = useTokens();
  const revoke = useRevokeToken();
  const { can } = usePermissions();
  const allTokens = can('tokens:manage-all');
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [feedback, setFeedback] = useState<string | null>(null);

  const newToken = (
    <Button
      onClick={() => {
        setFeedback(null);
        setCreating(true);
      }}
    >
      New token
    </Button>
  );

  let body;
  if (tokens.isPending) {
    body = <Loader size="sm" aria-label="Loading API tokens" />;
  } else if (tokens.isError) {
    body = <ErrorAlert error={tokens.error} title="Could not load the API tokens" />;
  } else if (tokens.data.length === 0) {
    body = (
      <EmptyState
        title="No API tokens yet"
        description="Create one for each place jobs run from, such as one per cluster, so each can be revoked on its own."
      />
    );
  } else {
    const active = tokens.data.filter((t) => t.status === 'active').length;
    body = (
      <>
        <Text size="sm" c="dimmed">
          {tokens.data.length} {tokens.data.length === 1 ? 'token' : 'tokens'}, {active} active
        </Text>
        <Table.ScrollContainer minWidth={allTokens ? 1000 : 860}>
          <Table verticalSpacing="xs" aria-label="API tokens" data-testid="tokens-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                {allTokens && <Table.Th scope="col">Owner</Table.Th>}
                <Table.Th scope="col">Scopes</Table.Th>
                <Table.Th scope="col">Projects</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
                <Table.Th scope="col">Expires</Table.Th>
                <Table.Th scope="col">Last used</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tokens.data.map((t) => {
                const badge = statusBadges[t.status];
                return (
                  <Table.Tr key={t.id} data-token-id={t.id}>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {t.name}
                      </Text>
                      <Text size="xs" c="dimmed">
                        ends in …{t.hint}
                      </Text>
                    </Table.Td>
                    {allTokens && <Table.Td>{t.owner !== undefined && <Owner owner={t.owner} />}</Table.Td>}
                    <Table.Td>
                      <Group gap={4}>
                        {t.scopes.map((s) => (
                          <Badge key={s} variant="light" color="gray" tt="none">
                            {s}
                          </Badge>
                        ))}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      {t.projects.length === 0 ? (
                        <Text size="sm" c="dimmed">
                          All projects
                        </Text>
                      ) : (
                        <Text size="sm">{t.projects.join(', ')}</Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDateTime(t.created_at)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Time iso={t.expires_at} />
                    </Table.Td>
                    <Table.Td>
                      {t.last_used_at === null ? (
                        <Text size="sm" c="dimmed">
                          never
                        </Text>
                      ) : (
                        <Time iso={t.last_used_at} />
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={badge.color}>
                        {badge.label}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      {t.status === 'active' && (
                        <Button
                          variant="subtle"
                          color="red"
                          size="xs"
                          aria-label={`Revoke ${t.name}`}
                          onClick={() => {
                            setFeedback(null);
                            revoke.reset();
                            setRevoking(t);
                          }}
                        >
                          Revoke
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </>
    );
  }

  return (
    <Stack gap="md">
      <Group justify="flex-end">{newToken}</Group>
      {feedback !== null && (
        <FeedbackAlert
          onClose={() => {
            setFeedback(null);
          }}
        >
          {feedback}
        </FeedbackAlert>
      )}
      {body}
      <CreateTokenDialog
        // The form's first scopes follow the permissions: start it anew once they arrive.
        key={can('runs:write') ? 'read-write' : 'read'}
        opened={creating}
        onClose={() => {
          setCreating(false);
        }}
      />
      <ConfirmDialog
        opened={revoking !== null}
        title={`Revoke ${revoking?.name ?? ''}?`}
        confirmLabel="Revoke"
        danger
        pending={revoke.isPending}
        error={revoke.error}
        onConfirm={() => {
          if (revoking !== null) {
            const { id, name } = revoking;
            revoke.mutate(id, {
              onSuccess: () => {
                setFeedback(`${name} was revoked. Jobs using it are refused from now on.`);
                setRevoking(null);
              },
            });
          }
        }}
        onClose={() => {
          setRevoking(null);
        }}
      >
        Jobs that use it are refused from now on. This cannot be undone; they need a new token to continue.
      </ConfirmDialog>
    </Stack>
  );
}
