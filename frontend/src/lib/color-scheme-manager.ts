import type { MantineColorScheme, MantineColorSchemeManager } from '@mantine/core';

/**
 * memoryColorSchemeManager keeps the colour scheme choice in memory only.
 * Mantine's default manager uses localStorage; this app keeps nothing in web storage.
 */
export function memoryColorSchemeManager(): MantineColorSchemeManager {
  let chosen: MantineColorScheme | undefined;
  return {
    get: (defaultValue) => chosen ?? defaultValue,
    set: (value) => {
      chosen = value;
    },
    subscribe: () => undefined,
    unsubscribe: () => undefined,
    clear: () => {
      chosen = undefined;
    },
  };
}
