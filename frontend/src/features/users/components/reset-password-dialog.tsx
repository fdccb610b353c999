import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useState, type SubmitEvent } from 'react';

import { ErrorAlert } from '@/components/error-alert';
import { NewPasswordInput } from '@/components/new-password-input';
import { usePasswordStrength } from '@/hooks/use-password-strength';
import { ApiError } from '@/lib/api-error';
import { newPasswordProblem } from '@/lib/password-policy';
import type { User } from '@/types/api';

import { useResetPassword } from '../api/users';

/** ResetPasswordDialog sets a new password for someone else's account; their sessions end. */
export function ResetPasswordDialog({
  user,
  onClose,
  onDone,
}: {
  user: User | null;
  onClose: () => void;
  onDone: (user: User) => void;
}) {
  const reset = useResetPassword();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const strength = usePasswordStrength(password, [user?.email ?? '', user?.name ?? '']);

  function close() {
    setPassword('');
    setError(undefined);
    reset.reset();
    onClose();
  }

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (user === null) {
      return;
    }
    const problem = newPasswordProblem(password, strength?.score ?? null);
    setError(problem ?? undefined);
    if (problem !== null) {
      return;
    }
    reset.mutate(
      { id: user.id, password },
      {
        onSuccess: () => {
          onDone(user);
          close();
        },
        onError: (e) => {
          if (e instanceof ApiError && e.code.startsWith('password_')) {
            setError(e.message);
          }
        },
      },
    );
  }

  const otherError = reset.isError && !(reset.error instanceof ApiError && reset.error.code.startsWith('password_'));
  return (
    <Modal opened={user !== null} onClose={close} title={`Reset password of ${user?.name ?? ''}`} centered>
      <form onSubmit={onSubmit} noValidate aria-label="Reset password">
        <Stack gap="md">
          <Text size="sm">Their sessions end at once; they sign in again with the new password.</Text>
          {otherError && <ErrorAlert error={reset.error} />}
          <NewPasswordInput
            label="New password"
            meterId="reset-password-strength"
            value={password}
            onValueChange={setPassword}
            error={error}
            strength={strength}
            data-autofocus
          />
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={close} disabled={reset.isPending}>
              Cancel
            </Button>
            <Button type="submit" loading={reset.isPending}>
              Set password
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
