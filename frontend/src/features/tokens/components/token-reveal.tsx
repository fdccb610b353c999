import { Alert, Button, Group, Stack, Text } from '@mantine/core';

import type { CreatedApiToken } from '@/types/api';

import { pythonSnippet, shellSnippet } from '../snippets';

import { CopyCode } from './copy-code';

/**
 * TokenReveal shows a new token's secret, the one time the server sends it,
 * with ready-made lines for the job's environment and the Python client.
 */
export function TokenReveal({ token, origin, onDone }: { token: CreatedApiToken; origin: string; onDone: () => void }) {
  return (
    <Stack gap="md">
      <Alert color="orange" variant="light" title="Copy the token now: it is shown only once">
        labreview keeps only a hash of it. If it is lost, revoke it and create another.
      </Alert>
      <CopyCode label="Token" id="new-token-secret" value={token.token} />
      <CopyCode label="Shell (the job’s environment)" id="new-token-shell" value={shellSnippet(origin, token.token)} />
      <CopyCode label="Python (clients/python/labreview.py)" id="new-token-python" value={pythonSnippet(token)} block />
      {token.scopes.includes('runs:write') && !token.scopes.includes('runs:read') && (
        <Text size="sm" c="dimmed">
          A restarted job reads its run back before it continues: give such jobs a token with runs:read as well.
        </Text>
      )}
      <Group justify="flex-end">
        <Button onClick={onDone}>I have copied it</Button>
      </Group>
    </Stack>
  );
}
