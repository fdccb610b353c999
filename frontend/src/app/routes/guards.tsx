import { Anchor, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { Link, Navigate, useLocation } from 'react-router';

import { SessionLoading } from '@/components/session-loading';
import { paths, signInPath } from '@/config/paths';
import { type Permission, usePermissions } from '@/lib/authorization';
import { useSession } from '@/lib/session/use-session';

/**
 * RequireSession renders its children only for a signed-in tab. While the boot
 * refresh runs it shows neither them nor the sign-in form; once signed out it
 * sends the visitor to sign-in, remembering where they were going.
 */
export function RequireSession({ children }: { children: ReactNode }) {
  const { status } = useSession();
  const location = useLocation();
  if (status === 'loading') {
    return <SessionLoading />;
  }
  if (status === 'signed-out') {
    return <Navigate to={signInPath(location.pathname + location.search + location.hash)} replace />;
  }
  return children;
}

/**
 * RequirePermission shows a page only to people whose permissions (GET /api/me)
 * include it. The others get an explanation and no request is made: the UI
 * never offers what would 403.
 */
export function RequirePermission({ permission, children }: { permission: Permission; children: ReactNode }) {
  const { can, pending } = usePermissions();
  if (pending) {
    return <SessionLoading />;
  }
  if (!can(permission)) {
    return (
      <Stack gap="sm" align="flex-start">
        <Title order={1}>Not available</Title>
        <Text>Your role does not give access to this page. An admin can change your role.</Text>
        <Anchor component={Link} to={paths.runs.path}>
          Go to the runs
        </Anchor>
      </Stack>
    );
  }
  return children;
}
