import { Anchor, Button, Card, Code, CopyButton, Group, List, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';

/** firstRunCommands are the shell lines that push a first run, with the token from the environment. */
function firstRunCommands(origin: string): { env: string; push: string } {
  return {
    env: `export LABREVIEW_URL=${origin} LABREVIEW_TOKEN=lrt_…  # the token the tokens page shows once`,
    push: [
      `curl -sf -H "Authorization: Bearer $LABREVIEW_TOKEN" -H 'Content-Type: application/json' \\`,
      `  -d '{"project":"my-project","external_id":"first-run","name":"first run","status":"succeeded","params":{"lr":0.001},"metrics":{"loss":0.25}}' \\`,
      `  "$LABREVIEW_URL/api/runs"`,
    ].join('\n'),
  };
}

/** Snippet is a command with a copy button; the text stays selectable where the clipboard is unavailable. */
function Snippet({ label, value, id }: { label: string; value: string; id: string }) {
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
              aria-label={`${copied ? 'Copied' : 'Copy'} ${label.toLowerCase()}`}
            >
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
      {/* A block keeps its lines and may scroll sideways: keyboard users reach it by Tab (WCAG 2.1.1). */}
      <Code block tabIndex={0} role="region" aria-label={label} data-testid={id}>
        {value}
      </Code>
    </Stack>
  );
}

/**
 * FirstRun is the runs page of a lab without runs: how to make a token and
 * push a first run, with commands to copy. Loaded on demand: only a fresh
 * install shows it.
 */
export default function FirstRun({ canMakeTokens }: { canMakeTokens: boolean }) {
  const cmds = firstRunCommands(window.location.origin);
  return (
    <Card withBorder component="section" aria-labelledby="first-run-heading" data-testid="first-run">
      <Title order={2} size="h4" id="first-run-heading" mb="xs">
        No runs yet: push a first one
      </Title>
      <List type="ordered" spacing="sm" size="sm">
        <List.Item>
          {canMakeTokens ? (
            <>
              Make an API token with the <Code>runs:write</Code> scope on the{' '}
              <Anchor component={Link} to="/tokens">
                API tokens
              </Anchor>{' '}
              page, and copy it: it is shown once.
            </>
          ) : (
            <>
              Ask a reviewer or an admin for an API token with the <Code>runs:write</Code> scope.
            </>
          )}
        </List.Item>
        <List.Item>
          <Snippet label="Environment of the job" value={cmds.env} id="first-run-env" />
        </List.Item>
        <List.Item>
          <Snippet label="Push a run" value={cmds.push} id="first-run-push" />
          <Text size="xs" c="dimmed" mt={4}>
            The same external id again updates that run. The <Code>labreview push</Code> and{' '}
            <Code>labreview log</Code> commands and the one-file Python client (clients/python) read the same two
            variables; docs/ingest.md has the whole job side.
          </Text>
        </List.Item>
      </List>
    </Card>
  );
}
