import { Container } from '@mantine/core';
import { Outlet } from 'react-router';

import classes from './app-layout.module.css';

/** PublicLayout frames the pages anyone may see (sign-in, first-run setup): product name, narrow content. */
export function PublicLayout() {
  return (
    <div className={classes.shell}>
      <header className={classes.header}>
        <Container size="lg" className={classes.headerInner}>
          <span className={classes.brand}>
            <img src="/favicon.svg" alt="" width={24} height={24} />
            labreview
          </span>
        </Container>
      </header>
      <main className={classes.main}>
        <Container size={460} py="xl">
          <Outlet />
        </Container>
      </main>
    </div>
  );
}
