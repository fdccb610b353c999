import { Modal, Select, Stack, TextInput } from '@mantine/core';
import { isNotEmpty, useForm } from '@mantine/form';

import { DialogFormButtons } from '@/components/dialog-form-buttons';
import { ErrorAlert } from '@/components/error-alert';
import { NewPasswordInput } from '@/components/new-password-input';
import { roleLabels, roles, type Role } from '@/lib/authorization';
import { emailProblem, showFieldProblems } from '@/lib/form';
import { isPasswordRuleError, newPasswordRule } from '@/lib/password-policy';
import type { User } from '@/types/api';

import { useCreateUser } from '../api/users';

interface NewUserValues {
  email: string;
  name: string;
  role: Role;
  password: string;
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
  const form = useForm<NewUserValues>({
    mode: 'controlled',
    initialValues: { email: '', name: '', role: 'viewer', password: '' },
    validate: {
      email: emailProblem,
      name: isNotEmpty('Enter a name.'),
      password: newPasswordRule<NewUserValues>((v) => [v.email, v.name]),
    },
  });
  const { email, name } = form.getValues();

  function close() {
    form.reset();
    create.reset();
    onClose();
  }

  const submit = form.onSubmit((values) => {
    create.mutate(
      { email: values.email.trim(), name: values.name.trim(), role: values.role, password: values.password },
      {
        onSuccess: (user) => {
          onCreated(user);
          close();
        },
        onError: (e) => {
          showFieldProblems(form, e, { byCode: (error) => (isPasswordRuleError(error) ? 'password' : undefined) });
        },
      },
    );
  });

  return (
    <Modal opened={opened} onClose={close} title="New user" centered>
      <form onSubmit={submit} noValidate aria-label="New user">
        <Stack gap="md">
          {create.isError && <ErrorAlert error={create.error} />}
          <TextInput label="Email" type="email" autoComplete="off" {...form.getInputProps('email')} required data-autofocus />
          <TextInput label="Name" autoComplete="off" {...form.getInputProps('name')} required />
          <Select label="Role" data={roleOptions} {...form.getInputProps('role')} allowDeselect={false} />
          <NewPasswordInput
            label="First password"
            description="Pass it on safely; they can change it under Account."
            meterId="create-user-password-strength"
            userInputs={[email, name]}
            {...form.getInputProps('password')}
          />
          <DialogFormButtons submitLabel="Create user" pending={create.isPending} onCancel={close} />
        </Stack>
      </form>
    </Modal>
  );
}
