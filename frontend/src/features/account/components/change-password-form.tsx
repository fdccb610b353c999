import { Alert, Button, Card, PasswordInput, Stack, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';

import { NewPasswordInput, RepeatPasswordInput } from '@/components/new-password-input';
import { ApiError } from '@/lib/api-error';
import { useCurrentUser } from '@/lib/current-user';
import { passwordsMatchRule, showFieldProblems, type ProblemRouting } from '@/lib/form';
import { isPasswordRuleError, newPasswordRule } from '@/lib/password-policy';

import { useChangePassword } from '../api/change-password';

interface ChangePasswordValues {
  current: string;
  next: string;
  confirm: string;
}

/** problemRouting puts a wrong current password and a refused new one on their fields. */
const problemRouting: ProblemRouting = {
  byCode: (e) => (e.code === 'wrong_password' ? 'current' : isPasswordRuleError(e) ? 'next' : undefined),
};

/** ChangePasswordForm changes the user's password; their other sessions end, this one stays. */
export function ChangePasswordForm() {
  const me = useCurrentUser();
  const change = useChangePassword();
  const userInputs = [me.data?.email ?? '', me.data?.name ?? ''];
  const form = useForm<ChangePasswordValues>({
    mode: 'controlled',
    initialValues: { current: '', next: '', confirm: '' },
    validate: {
      current: (current) => (current === '' ? 'Enter your current password.' : null),
      next: newPasswordRule(() => userInputs),
      confirm: passwordsMatchRule<ChangePasswordValues>('next'),
    },
  });
  const [done, setDone] = useState(false);

  const submit = form.onSubmit(
    (values) => {
      setDone(false);
      change.mutate(
        { current_password: values.current, new_password: values.next },
        {
          onSuccess: () => {
            form.reset();
            setDone(true);
          },
          onError: (e) => {
            showFieldProblems(form, e, problemRouting);
          },
        },
      );
    },
    () => {
      setDone(false);
    },
  );

  const otherError =
    change.error !== null && !(change.error instanceof ApiError && problemRouting.byCode?.(change.error) !== undefined);

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="password-heading">
      <form onSubmit={submit} noValidate aria-labelledby="password-heading">
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
            {...form.getInputProps('current')}
            required
          />
          <NewPasswordInput
            label="New password"
            meterId="new-password-strength"
            userInputs={userInputs}
            {...form.getInputProps('next')}
          />
          <RepeatPasswordInput label="Repeat the new password" {...form.getInputProps('confirm')} />
          <Button type="submit" loading={change.isPending} w="fit-content">
            Change password
          </Button>
        </Stack>
      </form>
    </Card>
  );
}
