import { Alert, Text } from '@mantine/core';

import { ApiError } from '@/lib/api-error';

/** ErrorAlert explains a failed request, with the request ID to quote when there is one. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : 'Something went wrong.';
  return (
    <Alert color="red" variant="light" title={title} role="alert">
      <Text size="sm">{message}</Text>
      {error instanceof ApiError && error.requestId !== undefined && (
        <Text size="xs" c="dimmed" mt={4}>
          Request ID: {error.requestId}
        </Text>
      )}
    </Alert>
  );
}
