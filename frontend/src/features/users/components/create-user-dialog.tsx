import { Button, Group, Modal, Select, Stack, TextInput } from '@mantine/core';
import { useState, type SubmitEvent } from 'react';

import { ErrorAlert } from '@/components/error-alert';
import { NewPasswordInput } from '@/components/new-password-input';
import { usePasswordStrength } from '@/hooks/use-password-strength';
import { ApiError, fieldProblems } from '@/lib/api-error';
import { roleLabels, roles } from '@/lib/authorization';
import { newPasswordProblem } from '@/lib/password-policy';
import type { User } from '@/types/api';

import { useCreateUser } from '../api/users';

interface Fields {
  email?: string;
  name?: string;
  password?: string;
}

const roleOptions = roles.map((r) => ({ value: r, label: roleLabels[r] }));

/** CreateUserDialog creates an account with a first password the admin passes on. */
export function CreateUserDialog({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (user: User) => void;
}) {
  const create = useCreateUser();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('viewer');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Fields>({});
  const strength = usePasswordStrength(password, [email, name]);

  function close() {
    setEmail('');
    setName('');
    setRole('viewer');
    setPassword('');
    setErrors({});
    create.reset();
    onClose();
  }

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const found: Fields = {};
    if (!email.includes('@')) {
      found.email = 'Enter an email address, like name@example.org.';
    }
    if (name.trim() === '') {
      found.name = 'Enter a name.';
    }
    const problem = newPasswordProblem(password, strength?.score ?? null);
    if (problem !== null) {
      found.password = problem;
    }
    setErrors(found);
    if (Object.keys(found).length > 0) {
      return;
    }
    create.mutate(
      { email: email.trim(), name: name.trim(), role, password },
      {
        onSuccess: (user) => {
          onCreated(user);
          close();
        },
        onError: (e) => {
          const problems = fieldProblems(e);
          setErrors({
            email: problems.find((p) => p.field === 'email')?.message,
            name: problems.find((p) => p.field === 'name')?.message,
            password:
              problems.find((p) => p.field === 'password')?.message ??
              (e instanceof ApiError && e.code.startsWith('password_') ? e.message : undefined),
          });
        },
      },
    );
  }

  return (
    <Modal opened={opened} onClose={close} title="New user" centered>
      <form onSubmit={onSubmit} noValidate aria-label="New user">
        <Stack gap="md">
          {create.isError && <ErrorAlert error={create.error} />}
          <TextInput
            label="Email"
            type="email"
            autoComplete="off"
            value={email}
            onChange={(e) => {
              setEmail(e.currentTarget.value);
            }}
            error={errors.email}
            required
            data-autofocus
          />
          <TextInput
            label="Name"
            autoComplete="off"
            value={name}
            onChange={(e) => {
              setName(e.currentTarget.value);
            }}
            error={errors.name}
            required
          />
          <Select
            label="Role"
            data={roleOptions}
            value={role}
            onChange={(value) => {
              if (value !== null) {
                setRole(value);
              }
            }}
            allowDeselect={false}
          />
          <NewPasswordInput
            label="First password"
            description="Pass it on safely; they can change it under Account."
            meterId="create-user-password-strength"
            value={password}
            onValueChange={setPassword}
            error={errors.password}
            strength={strength}
          />
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={close} disabled={create.isPending}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create user
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
