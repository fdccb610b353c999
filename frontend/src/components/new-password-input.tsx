import { PasswordInput, type PasswordInputProps } from '@mantine/core';

import { PasswordStrengthMeter } from '@/components/password-strength-meter';
import { usePasswordStrength } from '@/hooks/use-password-strength';

type NewPasswordInputProps = Omit<PasswordInputProps, 'value' | 'id'> & {
  /**
   * meterId is the strength meter's id. Mantine's PasswordInput sets the
   * field's aria-describedby itself (to its error and description), so the
   * meter speaks through its own live region instead.
   */
  meterId: string;
  /** value is the password typed so far (a controlled field: spread `form.getInputProps`). */
  value?: string;
  /** userInputs are the words the password must not lean on (the account's email, name). */
  userInputs: readonly string[];
};

/**
 * NewPasswordInput is a required new-password field with its strength meter
 * below, as every form that sets a password shows it. Spread a form's
 * `getInputProps` into it and check the value with `newPasswordRule`.
 */
export function NewPasswordInput({ meterId, value = '', userInputs, ...rest }: NewPasswordInputProps) {
  const strength = usePasswordStrength(value, userInputs);
  return (
    <>
      <PasswordInput autoComplete="new-password" value={value} required {...rest} />
      <PasswordStrengthMeter id={meterId} password={value} strength={strength} />
    </>
  );
}

/** RepeatPasswordInput asks for a new password again; check it with `passwordsMatchRule`. */
export function RepeatPasswordInput(props: PasswordInputProps) {
  return <PasswordInput autoComplete="new-password" required {...props} />;
}
