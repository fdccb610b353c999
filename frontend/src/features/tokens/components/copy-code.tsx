import { Button, Code, CopyButton, Group, Stack, Text } from '@mantine/core';

import classes from './copy-code.module.css';

/**
 * CopyCode shows a value with a copy button (Mantine's CopyButton, the
 * clipboard API). The value stays selectable, so it can be copied by hand
 * where the clipboard is unavailable (plain HTTP to a host other than localhost).
 */
export function CopyCode({ label, value, id, block = false }: { label: string; value: string; id: string; block?: boolean }) {
  return (
    <Stack gap={4}>
      <Group justify="space-between" align="flex-end" wrap="nowrap">
        <Text size="sm" fw={500}>
          {label}
        </Text>
        <CopyButton value={value} timeout={2_000}>
          {({ copied, copy }) => (
            <Button
              size="compact-sm"
              variant={copied ? 'light' : 'default'}
              color={copied ? 'teal' : undefined}
              onClick={copy}
              // The visible word starts the name (WCAG 2.5.3); the rest says which of the values.
              aria-label={`${copied ? 'Copied' : 'Copy'} ${label.toLowerCase()}`}
            >
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
      {block ? (
        // A block keeps its lines and may scroll sideways: keyboard users reach it by Tab (WCAG 2.1.1).
        <Code block tabIndex={0} role="region" aria-label={label} data-testid={id}>
          {value}
        </Code>
      ) : (
        <Code className={classes.wrap} data-testid={id}>
          {value}
        </Code>
      )}
    </Stack>
  );
}
