import { Alert, Button, Center, Group, Loader, Stack, Text } from '@mantine/core';
import { useEffect, useState } from 'react';

import { httpsRequiredCode, refresh } from '@/lib/session/session';
import { useSession } from '@/lib/session/use-session';

/** showAfterMs keeps a quick boot refresh from flashing a spinner. */
const showAfterMs = 300;

/**
 * SessionLoading stands in for a page while the boot refresh runs: neither the
 * sign-in form nor protected content, so a signed-in reload shows no sign-in
 * flash and a signed-out visitor sees nothing protected.
 */
export function SessionLoading() {
  const { problem } = useSession();
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const t = setTimeout(() => {
      setVisible(true);
    }, showAfterMs);
    return () => {
      clearTimeout(t);
    };
  }, []);

  if (problem?.code === httpsRequiredCode) {
    // Not an outage: this address cannot sign anyone in, so no retry loop.
    return (
      <Center p="xl">
        <Alert color="red" variant="light" title="Sign-in needs HTTPS at this address" role="alert" maw={560}>
          <Stack gap="sm" align="flex-start">
            <Text size="sm">{problem.message}</Text>
            <Button size="xs" variant="default" onClick={() => void refresh()}>
              Try again
            </Button>
          </Stack>
        </Alert>
      </Center>
    );
  }
  if (problem !== null) {
    return (
      <Center p="xl">
        <Alert color="orange" variant="light" title="Cannot reach the server" role="alert" maw={480}>
          <Stack gap="sm" align="flex-start">
            <Text size="sm">{problem.message} Retrying automatically.</Text>
            <Button size="xs" variant="default" onClick={() => void refresh()}>
              Try again now
            </Button>
          </Stack>
        </Alert>
      </Center>
    );
  }
  if (!visible) {
    return null;
  }
  return (
    <Center p="xl">
      <Group gap="xs" role="status">
        <Loader size="sm" />
        <Text size="sm">Restoring your session…</Text>
      </Group>
    </Center>
  );
}
