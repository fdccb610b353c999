import { MantineProvider } from '@mantine/core';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';

import { memoryColorSchemeManager } from '@/lib/color-scheme-manager';
import { createQueryClient } from '@/lib/react-query';

/**
 * AppProvider wires the app-wide providers.
 *
 * MantineProvider would inject <style> tags for its CSS variables and global
 * classes; the CSP (style-src 'self', no 'unsafe-inline') blocks those. The
 * variables of the default theme already ship in @mantine/core/styles.css and the
 * global classes in src/styles/mantine-global-classes.css, so both are switched
 * off. A theme override that changes CSS variables must be mirrored in a static
 * CSS file, because nothing injects them at runtime.
 */
export function AppProvider({ children, queryClient }: { children: ReactNode; queryClient?: QueryClient }) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  const [colorSchemeManager] = useState(memoryColorSchemeManager);
  return (
    <MantineProvider
      withCssVariables={false}
      withGlobalClasses={false}
      colorSchemeManager={colorSchemeManager}
      defaultColorScheme="auto"
    >
      <QueryClientProvider client={client}>{children}</QueryClientProvider>
    </MantineProvider>
  );
}
