import { MantineProvider } from '@mantine/core';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';

import { memoryColorSchemeManager } from '@/lib/color-scheme-manager';
import { createQueryClient, registerQueryClient } from '@/lib/react-query';
import { getSessionSnapshot, subscribeSession } from '@/lib/session/session';

import { theme } from './theme';

/**
 * useForgetDataOnUserChange drops every cached query when the signed-in user
 * signs out or changes, so no page ever shows the previous user's data. Queries
 * are reset rather than removed: a mounted page keeps its observer and simply
 * loads again (or, signed out, gets nothing: the API client sends no request).
 */
function useForgetDataOnUserChange(client: QueryClient) {
  useEffect(() => {
    let userId = getSessionSnapshot().user?.id ?? null;
    return subscribeSession(() => {
      const next = getSessionSnapshot().user?.id ?? null;
      if (next !== userId) {
        const hadUser = userId !== null;
        userId = next;
        if (hadUser) {
          void client.resetQueries();
        }
      }
    });
  }, [client]);
}

/**
 * AppProvider wires the app-wide providers.
 *
 * MantineProvider would inject <style> tags for its CSS variables and global
 * classes; the CSP (style-src 'self', no 'unsafe-inline') blocks those. The
 * variables of the default theme already ship in @mantine/core/styles.css and the
 * global classes in src/styles/mantine-global-classes.css, so both are switched
 * off. The app theme's own variables (its readable colours, src/app/theme.ts)
 * are in src/styles/theme.css, generated from the theme and checked against it
 * by src/app/theme.test.ts, because nothing injects them at runtime (so the
 * resolver that computes them is not passed here: it would never run).
 */
export function AppProvider({
  children,
  queryClient,
  testEnv = false,
}: {
  children: ReactNode;
  queryClient?: QueryClient;
  /** testEnv turns Mantine's transitions and portals off (jsdom runs no animation frames reliably). */
  testEnv?: boolean;
}) {
  const [client] = useState(() => {
    const c = queryClient ?? createQueryClient();
    registerQueryClient(c);
    return c;
  });
  const [colorSchemeManager] = useState(memoryColorSchemeManager);
  useForgetDataOnUserChange(client);
  return (
    <MantineProvider
      theme={theme}
      withCssVariables={false}
      withGlobalClasses={false}
      colorSchemeManager={colorSchemeManager}
      defaultColorScheme="auto"
      env={testEnv ? 'test' : 'default'}
    >
      <QueryClientProvider client={client}>{children}</QueryClientProvider>
    </MantineProvider>
  );
}
