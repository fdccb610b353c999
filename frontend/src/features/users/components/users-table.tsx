import { Badge, Button, Group, Loader, Menu, Select, Stack, Table, Text, VisuallyHidden } from '@mantine/core';
import { useState } from 'react';

import { ConfirmDialog } from '@/components/confirm-dialog';
import { ErrorAlert } from '@/components/error-alert';
import { FeedbackAlert } from '@/components/feedback-alert';
import { roleLabel, roleLabels, roles } from '@/lib/authorization';
import { formatDateTime } from '@/lib/format';
import { useSession } from '@/lib/session/use-session';
import type { User } from '@/types/api';

import { useDeleteUser, useTerminateSessions, useUpdateUser, useUsers } from '../api/users';

import { CreateUserDialog } from './create-user-dialog';
import { ResetPasswordDialog } from './reset-password-dialog';

const roleOptions = roles.map((r) => ({ value: r, label: roleLabels[r] }));

type Pending = { kind: 'delete' | 'terminate' | 'disable'; user: User } | null;

/**
 * UsersTable lists every account and offers the admin's actions on each. Actions
 * the server would refuse are not offered: an admin does not demote, disable or
 * delete themselves here, and the last enabled admin keeps their role.
 */
export function UsersTable() {
  const users = useUsers();
  const { user: me } = useSession();
  const update = useUpdateUser();
  const remove = useDeleteUser();
  const terminate = useTerminateSessions();
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<User | null>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [feedback, setFeedback] = useState<string | null>(null);

  if (users.isPending) {
    return <Loader size="sm" aria-label="Loading users" />;
  }
  if (users.isError) {
    return <ErrorAlert error={users.error} title="Could not load the users" />;
  }

  const enabledAdmins = users.data.filter((u) => u.role === 'admin' && !u.disabled).length;
  const protectedReason = (u: User): string | null => {
    if (u.id === me?.id) {
      return 'This is you.';
    }
    if (u.role === 'admin' && !u.disabled && enabledAdmins <= 1) {
      return 'The last admin.';
    }
    return null;
  };

  const confirm = () => {
    if (pending === null) {
      return;
    }
    const { kind, user } = pending;
    const done = (message: string) => () => {
      setFeedback(message);
      setPending(null);
    };
    if (kind === 'delete') {
      remove.mutate(user.id, { onSuccess: done(`${user.name} was deleted.`) });
    } else if (kind === 'terminate') {
      terminate.mutate(user.id, { onSuccess: done(`Every session of ${user.name} was ended.`) });
    } else {
      update.mutate(
        { id: user.id, patch: { disabled: true } },
        { onSuccess: done(`${user.name} is disabled and signed out everywhere.`) },
      );
    }
  };
  const confirmState =
    pending?.kind === 'delete' ? remove : pending?.kind === 'terminate' ? terminate : update;

  return (
    <Stack gap="md">
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {users.data.length} {users.data.length === 1 ? 'account' : 'accounts'}
        </Text>
        <Button
          onClick={() => {
            setCreating(true);
          }}
        >
          New user
        </Button>
      </Group>
      {feedback !== null && (
        <FeedbackAlert
          onClose={() => {
            setFeedback(null);
          }}
        >
          {feedback}
        </FeedbackAlert>
      )}
      {update.isError && pending === null && <ErrorAlert error={update.error} title="Could not change the user" />}
      <Table.ScrollContainer minWidth={760}>
        <Table verticalSpacing="xs" aria-label="Users" data-testid="users-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Name</Table.Th>
              <Table.Th scope="col">Email</Table.Th>
              <Table.Th scope="col">Role</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
              <Table.Th scope="col">Created</Table.Th>
              <Table.Th scope="col">
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {users.data.map((u) => {
              const locked = protectedReason(u);
              return (
                <Table.Tr key={u.id} data-user-email={u.email}>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {u.name}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{u.email}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Select
                      size="xs"
                      w={130}
                      data={roleOptions}
                      value={u.role}
                      allowDeselect={false}
                      disabled={locked !== null || update.isPending}
                      aria-label={`Role of ${u.name}`}
                      title={locked ?? undefined}
                      onChange={(value) => {
                        if (value !== null && value !== u.role) {
                          setFeedback(null);
                          update.mutate(
                            { id: u.id, patch: { role: value } },
                            {
                              onSuccess: () => {
                                setFeedback(`${u.name} is now ${roleLabel(value)}.`);
                              },
                            },
                          );
                        }
                      }}
                    />
                  </Table.Td>
                  <Table.Td>
                    {u.disabled ? (
                      <Badge color="gray" variant="light">
                        Disabled
                      </Badge>
                    ) : (
                      <Badge color="green" variant="light">
                        Active
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDateTime(u.created_at)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Menu position="bottom-end" withinPortal>
                      <Menu.Target>
                        <Button variant="default" size="xs" aria-label={`Actions for ${u.name}`}>
                          Actions
                        </Button>
                      </Menu.Target>
                      <Menu.Dropdown>
                        <Menu.Item
                          // Your own password is changed under Account (this would end your session).
                          disabled={u.id === me?.id}
                          onClick={() => {
                            setFeedback(null);
                            setResetting(u);
                          }}
                        >
                          Reset password…
                        </Menu.Item>
                        <Menu.Item
                          disabled={u.id === me?.id}
                          onClick={() => {
                            terminate.reset();
                            setPending({ kind: 'terminate', user: u });
                          }}
                        >
                          End all sessions…
                        </Menu.Item>
                        {u.disabled ? (
                          <Menu.Item
                            onClick={() => {
                              setFeedback(null);
                              update.mutate(
                                { id: u.id, patch: { disabled: false } },
                                {
                                  onSuccess: () => {
                                    setFeedback(`${u.name} is enabled again.`);
                                  },
                                },
                              );
                            }}
                          >
                            Enable
                          </Menu.Item>
                        ) : (
                          <Menu.Item
                            disabled={locked !== null}
                            onClick={() => {
                              update.reset();
                              setPending({ kind: 'disable', user: u });
                            }}
                          >
                            Disable…
                          </Menu.Item>
                        )}
                        <Menu.Divider />
                        <Menu.Item
                          color="red"
                          disabled={locked !== null}
                          onClick={() => {
                            remove.reset();
                            setPending({ kind: 'delete', user: u });
                          }}
                        >
                          Delete…
                        </Menu.Item>
                      </Menu.Dropdown>
                    </Menu>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>

      <CreateUserDialog
        opened={creating}
        onClose={() => {
          setCreating(false);
        }}
        onCreated={(user) => {
          setFeedback(`${user.name} was created.`);
        }}
      />
      <ResetPasswordDialog
        user={resetting}
        onClose={() => {
          setResetting(null);
        }}
        onDone={(user) => {
          setFeedback(`The password of ${user.name} was reset, and their sessions ended.`);
        }}
      />
      <ConfirmDialog
        opened={pending !== null}
        title={
          pending?.kind === 'delete'
            ? `Delete ${pending.user.name}?`
            : pending?.kind === 'terminate'
              ? `End every session of ${pending.user.name}?`
              : `Disable ${pending?.user.name ?? ''}?`
        }
        confirmLabel={pending?.kind === 'delete' ? 'Delete' : pending?.kind === 'terminate' ? 'End sessions' : 'Disable'}
        danger
        pending={confirmState.isPending}
        error={confirmState.error}
        onConfirm={confirm}
        onClose={() => {
          setPending(null);
        }}
      >
        {pending?.kind === 'delete'
          ? 'The account and its sessions are removed. This cannot be undone.'
          : pending?.kind === 'terminate'
            ? 'They are signed out on every device and browser within moments, and sign in again to continue.'
            : 'They are signed out everywhere and cannot sign in until enabled again.'}
      </ConfirmDialog>
    </Stack>
  );
}
