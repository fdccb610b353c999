import { Container } from '@mantine/core';
import { Link, NavLink, Outlet } from 'react-router';

import { paths } from '@/config/paths';

import classes from './app-layout.module.css';

const navItems = [paths.overview, paths.status];

/**
 * AppLayout is the shell around every page: header with product name and
 * navigation, page content below. It is plain CSS rather than Mantine's AppShell
 * because AppShell injects a <style> tag, which the CSP (no 'unsafe-inline') blocks.
 */
export function AppLayout() {
  return (
    <div className={classes.shell}>
      <header className={classes.header}>
        <Container size="lg" className={classes.headerInner}>
          <Link to={paths.overview.path} className={classes.brand}>
            <img src="/favicon.svg" alt="" width={24} height={24} />
            labreview
          </Link>
          <nav aria-label="Main" className={classes.nav}>
            {navItems.map((item) => (
              <NavLink key={item.path} to={item.path} end className={classes.link}>
                {item.label}
              </NavLink>
            ))}
          </nav>
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
