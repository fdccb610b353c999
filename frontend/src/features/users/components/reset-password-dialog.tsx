import { Modal, Stack, Text } from '@mantine/core';
import { useForm } from '@mantine/form';

import { DialogFormButtons } from '@/components/dialog-form-buttons';
import { ErrorAlert } from '@/components/error-alert';
import { NewPasswordInput } from '@/components/new-password-input';
import { showFieldProblems, type ProblemRouting } from '@/lib/form';
import { isPasswordRuleError, newPasswordRule } from '@/lib/password-policy';
import type { User } from '@/types/api';

import { useResetPassword } from '../api/users';

/** problemRouting puts the server's refusal of the new password on its field. */
const problemRouting: ProblemRouting = { byCode: (e) => (isPasswordRuleError(e) ? 'password' : undefined) };

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
  const userInputs = [user?.email ?? '', user?.name ?? ''];
  const form = useForm({
    mode: 'controlled',
    initialValues: { password: '' },
    validate: { password: newPasswordRule(() => userInputs) },
  });

  function close() {
    form.reset();
    reset.reset();
    onClose();
  }

  const submit = form.onSubmit(({ password }) => {
    if (user === null) {
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
          showFieldProblems(form, e, problemRouting);
        },
      },
    );
  });

  const otherError = reset.isError && !isPasswordRuleError(reset.error);
  return (
    <Modal opened={user !== null} onClose={close} title={`Reset password of ${user?.name ?? ''}`} centered>
      <form onSubmit={submit} noValidate aria-label="Reset password">
        <Stack gap="md">
          <Text size="sm">Their sessions end at once; they sign in again with the new password.</Text>
          {otherError && <ErrorAlert error={reset.error} />}
          <NewPasswordInput
            label="New password"
            meterId="reset-password-strength"
            userInputs={userInputs}
            {...form.getInputProps('password')}
            data-autofocus
          />
          <DialogFormButtons submitLabel="Set password" pending={reset.isPending} onCancel={close} />
        </Stack>
      </form>
    </Modal>
  );
}
