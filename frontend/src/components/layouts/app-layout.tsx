import { Badge, Button, Container, Text } from '@mantine/core';
import { Link, NavLink, Outlet } from 'react-router';

import { paths } from '@/config/paths';
import { roleLabel, type Permission, usePermissions } from '@/lib/authorization';
import { useCurrentUser } from '@/lib/current-user';
import { signOut } from '@/lib/session/session';
import { useSession } from '@/lib/session/use-session';

import classes from './app-layout.module.css';

const navItems: { path: string; label: string; permission?: Permission }[] = [
  paths.runs,
  paths.projects,
  paths.status,
  paths.tokens,
  paths.account,
  { ...paths.users, permission: 'users:manage' },
  { ...paths.audit, permission: 'audit:read' },
];

/**
 * AppLayout is the shell around every signed-in page: header with product name,
 * the navigation this user's role allows, who is signed in and a sign-out
 * action; page content below. It is plain CSS rather than Mantine's AppShell
 * because AppShell injects a <style> tag, which the CSP (no 'unsafe-inline') blocks.
 */
export function AppLayout() {
  const { user } = useSession();
  const me = useCurrentUser();
  const role = user?.role ?? '';
  const { can } = usePermissions();
  return (
    <div className={classes.shell}>
      <header className={classes.header}>
        <Container size="lg" className={classes.headerInner}>
          <Link to={paths.runs.path} className={classes.brand}>
            <img src="/favicon.svg" alt="" width={24} height={24} />
            labreview
          </Link>
          <nav aria-label="Main" className={classes.nav}>
            {navItems
              .filter((item) => item.permission === undefined || can(item.permission))
              .map((item) => (
                <NavLink key={item.path} to={item.path} end className={classes.link}>
                  {item.label}
                </NavLink>
              ))}
          </nav>
          <div className={classes.user} role="group" aria-label="Signed in as">
            <Text size="sm" fw={500} className={classes.userName} data-testid="signed-in-name">
              {me.data?.name ?? '\u00a0'}
            </Text>
            <Badge variant="light" size="sm" data-testid="signed-in-role">
              {roleLabel(role)}
            </Badge>
            <Button variant="default" size="xs" onClick={() => void signOut()}>
              Sign out
            </Button>
          </div>
        </Container>
      </header>
      <main className={classes.main}>
        <Container size="lg" py="xl">
          <Outlet />
        </Container>
      </main>
    </div>
  );
}
