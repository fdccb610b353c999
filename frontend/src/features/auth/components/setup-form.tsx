import { Alert, Button, Stack, TextInput } from '@mantine/core';
import { isNotEmpty, useForm } from '@mantine/form';
import { useState } from 'react';

import { NewPasswordInput, RepeatPasswordInput } from '@/components/new-password-input';
import { ApiError } from '@/lib/api-error';
import { emailProblem, passwordsMatchRule, showFieldProblems } from '@/lib/form';
import { newPasswordRule } from '@/lib/password-policy';
import { completeSetup } from '@/lib/session/session';

interface SetupValues {
  name: string;
  email: string;
  password: string;
  confirm: string;
}

/** SetupForm creates the first admin account with the one-time token from the server's log. */
export function SetupForm({ token, onDone }: { token: string; onDone: () => void }) {
  const form = useForm<SetupValues>({
    mode: 'controlled',
    initialValues: { name: '', email: '', password: '', confirm: '' },
    validate: {
      name: isNotEmpty('Enter your name.'),
      email: emailProblem,
      password: newPasswordRule<SetupValues>((v) => [v.email, v.name]),
      confirm: passwordsMatchRule<SetupValues>('password'),
    },
  });
  const [error, setError] = useState<unknown>(null);
  const { name, email } = form.getValues();

  const submit = form.onSubmit(
    async (values) => {
      setError(null);
      try {
        await completeSetup({ token, email: values.email.trim(), name: values.name.trim(), password: values.password });
        onDone();
      } catch (e) {
        showFieldProblems(form, e);
        setError(e);
      }
    },
    () => {
      setError(null);
    },
  );

  return (
    <form onSubmit={submit} noValidate aria-label="Create the first admin account">
      <Stack gap="md">
        {error !== null && (
          <Alert color="red" variant="light" role="alert">
            {error instanceof ApiError ? error.message : 'Setup failed.'}
          </Alert>
        )}
        <TextInput label="Your name" autoComplete="name" {...form.getInputProps('name')} required />
        <TextInput label="Email" type="email" autoComplete="username" {...form.getInputProps('email')} required />
        <NewPasswordInput
          label="Password"
          meterId="setup-password-strength"
          userInputs={[email, name]}
          {...form.getInputProps('password')}
        />
        <RepeatPasswordInput label="Repeat the password" {...form.getInputProps('confirm')} />
        <Button type="submit" loading={form.submitting}>
          Create admin account
        </Button>
      </Stack>
    </form>
  );
}
