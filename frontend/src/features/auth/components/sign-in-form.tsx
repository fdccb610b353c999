import { Alert, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm, type FormErrors } from '@mantine/form';
import { useEffect, useRef, useState } from 'react';

import { ApiError } from '@/lib/api-error';
import { emailProblem, showFieldProblems } from '@/lib/form';
import { formatWait } from '@/lib/format';
import { signIn } from '@/lib/session/session';

interface SignInValues {
  email: string;
  password: string;
}

/** useNow ticks once a second while `active`, for countdowns. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) {
      return;
    }
    const t = setInterval(() => {
      setNow(Date.now());
    }, 1_000);
    return () => {
      clearInterval(t);
    };
  }, [active]);
  return now;
}

/**
 * SignInForm asks for email and password. Success changes the session, and the
 * sign-in route moves on; failures are explained next to the form, including
 * how long to wait after too many attempts.
 */
export function SignInForm() {
  const form = useForm<SignInValues>({
    mode: 'controlled',
    initialValues: { email: '', password: '' },
    validate: {
      email: (email) => (email.trim() === '' ? 'Enter your email address.' : emailProblem(email)),
      password: (password) => (password === '' ? 'Enter your password.' : null),
    },
  });
  const [error, setError] = useState<string | null>(null);
  const [blocked, setBlocked] = useState({ until: 0, seconds: 0 });
  const passwordRef = useRef<HTMLInputElement>(null);
  const emailRef = useRef<HTMLInputElement>(null);
  const now = useNow(blocked.until > 0);
  // The ticking clock may lag the moment of blocking by up to a second.
  const waitSeconds = blocked.until > now ? Math.min(blocked.seconds, Math.ceil((blocked.until - now) / 1_000)) : 0;

  async function send({ email, password }: SignInValues) {
    setError(null);
    try {
      await signIn(email.trim(), password);
    } catch (e) {
      form.setFieldValue('password', '');
      if (e instanceof ApiError && e.code === 'too_many_attempts') {
        const seconds = e.retryAfterSeconds ?? 60;
        setBlocked({ until: Date.now() + seconds * 1_000, seconds });
      } else if (e instanceof ApiError && e.code === 'invalid_grant') {
        setError('Wrong email or password.');
        passwordRef.current?.focus();
      } else {
        showFieldProblems(form, e, { fields: { username: 'email' } });
        setError(e instanceof Error ? e.message : 'Sign-in failed.');
      }
    }
  }

  function focusFirstProblem(errors: FormErrors) {
    setError(null);
    (errors['email'] !== undefined ? emailRef : passwordRef).current?.focus();
  }

  return (
    <form
      onSubmit={(event) => {
        form.onSubmit(send, focusFirstProblem)(event);
      }}
      noValidate
      aria-label="Sign in"
    >
      <Stack gap="md">
        {waitSeconds > 0 && (
          <Alert color="orange" variant="light" title="Too many failed sign-ins" role="alert">
            <Text size="sm">
              For your account’s safety, sign-in is paused. Try again in {formatWait(waitSeconds)}.
            </Text>
          </Alert>
        )}
        {error !== null && (
          <Alert color="red" variant="light" role="alert">
            {error}
          </Alert>
        )}
        <TextInput
          ref={emailRef}
          label="Email"
          type="email"
          name="username"
          autoComplete="username"
          {...form.getInputProps('email')}
          required
        />
        <PasswordInput
          ref={passwordRef}
          label="Password"
          name="password"
          autoComplete="current-password"
          {...form.getInputProps('password')}
          required
        />
        <Button type="submit" loading={form.submitting} disabled={waitSeconds > 0}>
          Sign in
        </Button>
      </Stack>
    </form>
  );
}
