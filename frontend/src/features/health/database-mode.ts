import type { Health } from './types';

/** databaseModeLabel describes where the database runs, for people. */
export const databaseModeLabel = {
  embedded: 'embedded database',
  hosted: 'hosted database',
} as const satisfies Record<Health['database']['mode'], string>;
