import { PasswordInput, type PasswordInputProps } from '@mantine/core';

import { PasswordStrengthMeter } from '@/components/password-strength-meter';
import type { Strength } from '@/lib/password-strength';

type NewPasswordInputProps = Omit<PasswordInputProps, 'value' | 'onChange' | 'id'> & {
  /** meterId names the strength meter the field points at (aria-describedby). */
  meterId: string;
  value: string;
  onValueChange: (value: string) => void;
  strength: Strength | null;
};

/**
 * NewPasswordInput is a required new-password field with its strength meter
 * below, as every form that sets a password shows it.
 */
export function NewPasswordInput({ meterId, value, onValueChange, strength, ...rest }: NewPasswordInputProps) {
  return (
    <>
      <PasswordInput
        autoComplete="new-password"
        value={value}
        onChange={(e) => {
          onValueChange(e.currentTarget.value);
        }}
        aria-describedby={meterId}
        required
        {...rest}
      />
      <PasswordStrengthMeter id={meterId} password={value} strength={strength} />
    </>
  );
}
