import { Alert, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useEffect, useRef, useState, type SubmitEvent } from 'react';

import { ApiError, fieldProblems } from '@/lib/api-error';
import { formatWait } from '@/lib/format';
import { signIn } from '@/lib/session/session';

interface FieldErrors {
  email?: string;
  password?: string;
}

function validate(email: string, password: string): FieldErrors {
  const errors: FieldErrors = {};
  if (email.trim() === '') {
    errors.email = 'Enter your email address.';
  } else if (!email.includes('@')) {
    errors.email = 'Enter an email address, like name@example.org.';
  }
  if (password === '') {
    errors.password = 'Enter your password.';
  }
  return errors;
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
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string | null>(null);
  const [blocked, setBlocked] = useState({ until: 0, seconds: 0 });
  const [pending, setPending] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);
  const emailRef = useRef<HTMLInputElement>(null);
  const now = useNow(blocked.until > 0);
  // The ticking clock may lag the moment of blocking by up to a second.
  const waitSeconds = blocked.until > now ? Math.min(blocked.seconds, Math.ceil((blocked.until - now) / 1_000)) : 0;

  async function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const errors = validate(email, password);
    setFieldErrors(errors);
    setError(null);
    if (errors.email !== undefined) {
      emailRef.current?.focus();
      return;
    }
    if (errors.password !== undefined) {
      passwordRef.current?.focus();
      return;
    }
    setPending(true);
    try {
      await signIn(email.trim(), password);
    } catch (e) {
      setPassword('');
      if (e instanceof ApiError && e.code === 'too_many_attempts') {
        const seconds = e.retryAfterSeconds ?? 60;
        setBlocked({ until: Date.now() + seconds * 1_000, seconds });
        setError(null);
      } else if (e instanceof ApiError && e.code === 'invalid_grant') {
        setError('Wrong email or password.');
        passwordRef.current?.focus();
      } else {
        const problems = fieldProblems(e);
        if (problems.length > 0) {
          setFieldErrors({
            email: problems.find((p) => p.field === 'username')?.message,
            password: problems.find((p) => p.field === 'password')?.message,
          });
        }
        setError(e instanceof Error ? e.message : 'Sign-in failed.');
      }
    } finally {
      setPending(false);
    }
  }

  return (
    <form onSubmit={(e) => void onSubmit(e)} noValidate aria-label="Sign in">
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
          value={email}
          onChange={(e) => {
            setEmail(e.currentTarget.value);
          }}
          error={fieldErrors.email}
          required
        />
        <PasswordInput
          ref={passwordRef}
          label="Password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => {
            setPassword(e.currentTarget.value);
          }}
          error={fieldErrors.password}
          required
        />
        <Button type="submit" loading={pending} disabled={waitSeconds > 0}>
          Sign in
        </Button>
      </Stack>
    </form>
  );
}
