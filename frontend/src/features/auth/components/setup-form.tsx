import { Alert, Button, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useState, type SubmitEvent } from 'react';

import { NewPasswordInput } from '@/components/new-password-input';
import { usePasswordStrength } from '@/hooks/use-password-strength';
import { ApiError, fieldProblems } from '@/lib/api-error';
import { newPasswordProblem } from '@/lib/password-policy';
import { completeSetup } from '@/lib/session/session';

interface Fields {
  name?: string;
  email?: string;
  password?: string;
  confirm?: string;
}

/** SetupForm creates the first admin account with the one-time token from the server's log. */
export function SetupForm({ token, onDone }: { token: string; onDone: () => void }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Fields>({});
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const strength = usePasswordStrength(password, [email, name]);

  async function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const next: Fields = {};
    if (name.trim() === '') {
      next.name = 'Enter your name.';
    }
    if (!email.includes('@')) {
      next.email = 'Enter an email address, like name@example.org.';
    }
    const problem = newPasswordProblem(password, strength?.score ?? null);
    if (problem !== null) {
      next.password = problem;
    }
    if (confirm !== password) {
      next.confirm = 'The passwords do not match.';
    }
    setErrors(next);
    setError(null);
    if (Object.keys(next).length > 0) {
      return;
    }
    setPending(true);
    try {
      await completeSetup({ token, email: email.trim(), name: name.trim(), password });
      onDone();
    } catch (e) {
      const problems = fieldProblems(e);
      if (problems.length > 0) {
        setErrors({
          name: problems.find((p) => p.field === 'name')?.message,
          email: problems.find((p) => p.field === 'email')?.message,
          password: problems.find((p) => p.field === 'password')?.message,
        });
      }
      setError(e);
    } finally {
      setPending(false);
    }
  }

  return (
    <form onSubmit={(e) => void onSubmit(e)} noValidate aria-label="Create the first admin account">
      <Stack gap="md">
        {error !== null && (
          <Alert color="red" variant="light" role="alert">
            {error instanceof ApiError ? error.message : 'Setup failed.'}
          </Alert>
        )}
        <TextInput
          label="Your name"
          autoComplete="name"
          value={name}
          onChange={(e) => {
            setName(e.currentTarget.value);
          }}
          error={errors.name}
          required
        />
        <TextInput
          label="Email"
          type="email"
          autoComplete="username"
          value={email}
          onChange={(e) => {
            setEmail(e.currentTarget.value);
          }}
          error={errors.email}
          required
        />
        <NewPasswordInput
          label="Password"
          meterId="setup-password-strength"
          value={password}
          onValueChange={setPassword}
          error={errors.password}
          strength={strength}
        />
        <PasswordInput
          label="Repeat the password"
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => {
            setConfirm(e.currentTarget.value);
          }}
          error={errors.confirm}
          required
        />
        <Button type="submit" loading={pending}>
          Create admin account
        </Button>
      </Stack>
    </form>
  );
}
