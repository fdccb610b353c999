import { Button, Code, Group, Loader, Select, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { ErrorAlert } from '@/components/error-alert';
import { formatDateTime } from '@/lib/format';
import { describeUserAgent } from '@/lib/user-agent';
import { usersQueryOptions } from '@/lib/users-query';
import type { AuditEvent, User } from '@/types/api';

import { auditEvents, useAudit } from '../api/get-audit';

const eventOptions = auditEvents.map((e) => ({ value: e, label: e.replace(/_/g, ' ') }));

function who(id: string | undefined, users: Map<string, User>, fallback?: string): string {
  if (id === undefined || id === '') {
    return fallback ?? '—';
  }
  const u = users.get(id);
  return u === undefined ? (fallback ?? id) : `${u.name} <${u.email}>`;
}

function detailsText(e: AuditEvent): string {
  return e.details === undefined ? '' : JSON.stringify(e.details);
}

/**
 * AuditLog pages through the audit trail, newest first, filtered by user and by
 * event. Pages are cursor-based: "Older" follows the server's `next` cursor and
 * "Newer" steps back through the cursors already seen.
 */
export function AuditLog() {
  const [user, setUser] = useState<string | null>(null);
  const [event, setEvent] = useState<string | null>(null);
  // cursors[i] is the `before` cursor of page i; page 0 is the newest.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const page = cursors.length - 1;
  const audit = useAudit({ user, event, before: cursors[page] });
  const users = useQuery(usersQueryOptions);
  const byId = new Map((users.data ?? []).map((u) => [u.id, u]));
  const userOptions = (users.data ?? []).map((u) => ({ value: u.id, label: `${u.name} <${u.email}>` }));

  return (
    <Stack gap="md">
      <Group gap="md" align="flex-end" role="search" aria-label="Filter the audit log">
        <Select
          label="User"
          placeholder="Everyone"
          data={userOptions}
          value={user}
          onChange={(v) => {
            setUser(v);
            setCursors([undefined]);
          }}
          searchable
          clearable
          w={280}
        />
        <Select
          label="Event"
          placeholder="Every event"
          data={eventOptions}
          value={event}
          onChange={(v) => {
            setEvent(v);
            setCursors([undefined]);
          }}
          searchable
          clearable
          w={220}
        />
        {audit.isFetching && <Loader size="xs" aria-label="Loading" />}
      </Group>
      {audit.isError && <ErrorAlert error={audit.error} title="Could not load the audit log" />}
      {audit.isPending ? (
        <Loader size="sm" aria-label="Loading the audit log" />
      ) : audit.data === undefined ? null : (
        <>
          <Table.ScrollContainer minWidth={900}>
            <Table verticalSpacing="xs" aria-label="Audit events" data-testid="audit-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">When</Table.Th>
                  <Table.Th scope="col">Event</Table.Th>
                  <Table.Th scope="col">User</Table.Th>
                  <Table.Th scope="col">By</Table.Th>
                  <Table.Th scope="col">IP address</Table.Th>
                  <Table.Th scope="col">Client</Table.Th>
                  <Table.Th scope="col">Details</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {audit.data.events.length === 0 && (
                  <Table.Tr>
                    <Table.Td colSpan={7}>
                      <Text size="sm" c="dimmed">
                        No events match.
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                )}
                {audit.data.events.map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td>
                      <Text size="sm">{formatDateTime(e.at)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Code>{e.event}</Code>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{who(e.user_id, byId, e.email)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{e.actor_id === e.user_id ? 'themselves' : who(e.actor_id, byId)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{e.ip ?? '—'}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" title={e.user_agent}>
                        {e.user_agent === undefined ? '—' : describeUserAgent(e.user_agent)}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace">
                        {detailsText(e)}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Group justify="space-between">
            <Text size="sm" c="dimmed">
              Page {page + 1}
            </Text>
            <Group gap="sm">
              <Button
                variant="default"
                size="xs"
                disabled={page === 0}
                onClick={() => {
                  setCursors((c) => c.slice(0, -1));
                }}
              >
                Newer
              </Button>
              <Button
                variant="default"
                size="xs"
                disabled={audit.data.next === null || audit.isPlaceholderData}
                onClick={() => {
                  const next = audit.data.next;
                  if (next !== null) {
                    setCursors((c) => [...c, next]);
                  }
                }}
              >
                Older
              </Button>
            </Group>
          </Group>
        </>
      )}
    </Stack>
  );
}
