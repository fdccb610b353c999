import { Alert, Button, Card, PasswordInput, Stack, Title } from '@mantine/core';
import { useState, type SubmitEvent } from 'react';

import { NewPasswordInput } from '@/components/new-password-input';
import { usePasswordStrength } from '@/hooks/use-password-strength';
import { ApiError } from '@/lib/api-error';
import { useCurrentUser } from '@/lib/current-user';
import { newPasswordProblem } from '@/lib/password-policy';

import { useChangePassword } from '../api/change-password';

interface Fields {
  current?: string;
  next?: string;
  confirm?: string;
}

/** ChangePasswordForm changes the user's password; their other sessions end, this one stays. */
export function ChangePasswordForm() {
  const me = useCurrentUser();
  const change = useChangePassword();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Fields>({});
  const [done, setDone] = useState(false);
  const strength = usePasswordStrength(next, [me.data?.email ?? '', me.data?.name ?? '']);

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const found: Fields = {};
    if (current === '') {
      found.current = 'Enter your current password.';
    }
    const problem = newPasswordProblem(next, strength?.score ?? null);
    if (problem !== null) {
      found.next = problem;
    }
    if (confirm !== next) {
      found.confirm = 'The passwords do not match.';
    }
    setErrors(found);
    setDone(false);
    if (Object.keys(found).length > 0) {
      return;
    }
    change.mutate(
      { current_password: current, new_password: next },
      {
        onSuccess: () => {
          setCurrent('');
          setNext('');
          setConfirm('');
          setDone(true);
        },
        onError: (e) => {
          if (e instanceof ApiError && e.code === 'wrong_password') {
            setErrors({ current: e.message });
          } else if (e instanceof ApiError && e.code.startsWith('password_')) {
            setErrors({ next: e.message });
          }
        },
      },
    );
  }

  const otherError =
    change.error !== null &&
    !(change.error instanceof ApiError && (change.error.code === 'wrong_password' || change.error.code.startsWith('password_')));

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="password-heading">
      <form onSubmit={onSubmit} noValidate aria-labelledby="password-heading">
        <Stack gap="md" maw={420}>
          <Title order={2} size="h4" id="password-heading">
            Change password
          </Title>
          {done && (
            <Alert color="green" variant="light" role="status">
              Password changed. Your other sessions were signed out; this one continues.
            </Alert>
          )}
          {otherError && (
            <Alert color="red" variant="light" role="alert">
              {change.error.message}
            </Alert>
          )}
          <PasswordInput
            label="Current password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => {
              setCurrent(e.currentTarget.value);
            }}
            error={errors.current}
            required
          />
          <NewPasswordInput
            label="New password"
            meterId="new-password-strength"
            value={next}
            onValueChange={setNext}
            error={errors.next}
            strength={strength}
          />
          <PasswordInput
            label="Repeat the new password"
            autoComplete="new-password"
            value={confirm}
            onChange={(e) => {
              setConfirm(e.currentTarget.value);
            }}
            error={errors.confirm}
            required
          />
          <Button type="submit" loading={change.isPending} w="fit-content">
            Change password
          </Button>
        </Stack>
      </form>
    </Card>
  );
}
