import { Progress, Stack, Text } from '@mantine/core';

import { minPasswordScore, passwordRule } from '@/config/password';
import type { Strength } from '@/lib/password-strength';

const labels = ['Very weak', 'Weak', 'Fair', 'Good', 'Strong'] as const;
const colors = ['red', 'red', 'orange', 'teal', 'green'] as const;

/**
 * PasswordStrengthMeter shows the estimate of `usePasswordStrength` and the
 * server's rule. `id` lets the password field point at it (aria-describedby).
 */
export function PasswordStrengthMeter({ id, password, strength }: { id: string; password: string; strength: Strength | null }) {
  const score = strength?.score ?? 0;
  const label = password === '' ? 'not rated yet' : strength === null ? 'checking…' : labels[score];
  return (
    <Stack gap={4} id={id}>
      <Progress
        value={password === '' || strength === null ? 0 : (score + 1) * 20}
        color={colors[score]}
        size="sm"
        aria-hidden
      />
      <Text size="sm" aria-live="polite">
        Strength: {label}
        {strength !== null && password !== '' && strength.score < minPasswordScore ? ' — not accepted' : ''}
      </Text>
      {strength?.warning ? (
        <Text size="sm" c="dimmed">
          {strength.warning}
        </Text>
      ) : null}
      <Text size="xs" c="dimmed">
        {passwordRule}
      </Text>
    </Stack>
  );
}
