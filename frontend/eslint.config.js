import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import reactRefresh from 'eslint-plugin-react-refresh';
import { readdirSync } from 'node:fs';

import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries (docs/architecture.md, "Frontend"): a feature imports
 * itself and the shared layers (src/lib, src/components, src/config, src/hooks,
 * src/types), never another feature or src/app; the shared layers import no
 * feature and not src/app; only src/app (and the test harness in src/testing)
 * composes features. no-restricted-imports matches the import text, so each
 * feature gets its own block per folder depth: `@/features/<other>` is refused,
 * and so is a relative path that climbs out of the feature.
 */
const boundaryMessage =
  'Features do not import each other or src/app. Move what both need to src/lib, src/components, src/hooks or src/config (see docs/architecture.md).';
const features = readdirSync(new URL('src/features', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const featureDepths = [0, 1, 2, 3, 4, 5];
const featureBoundaries = features.flatMap((feature) =>
  featureDepths.map((depth) => ({
    files: [`src/features/${feature}/${'*/'.repeat(depth)}*.{ts,tsx}`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: `^@/features/(?!${feature}(/|$))`, message: boundaryMessage },
            { regex: '^@/app(/|$)', message: boundaryMessage },
            {
              regex: `^(\\./)?(\\.\\./){${String(depth + 1)},}`,
              message: `${boundaryMessage} Outside this feature, import through '@/…'.`,
            },
          ],
        },
      ],
    },
  })),
);
const sharedBoundaries = {
  files: ['src/{lib,components,config,hooks,types}/**/*.{ts,tsx}'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: '^(@/|(\\.\\./)+)(features|app)(/|$)',
            message: 'The shared layers (src/lib, src/components, src/config, src/hooks, src/types) import no feature and not src/app.',
          },
        ],
      },
    ],
  },
};

export default defineConfig([
  globalIgnores(['dist', 'playwright-report', 'test-results']),
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended, reactRefresh.configs.vite],
    languageOptions: {
      globals: globals.browser,
    },
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
          message: 'Render text as React children; raw HTML is an XSS risk and the CSP blocks inline scripts anyway.',
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'localStorage', message: 'Nothing is kept in web storage; tokens live in memory only.' },
        { name: 'sessionStorage', message: 'Nothing is kept in web storage; tokens live in memory only.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'window', property: 'localStorage', message: 'Nothing is kept in web storage.' },
        { object: 'window', property: 'sessionStorage', message: 'Nothing is kept in web storage.' },
      ],
    },
  },
  ...featureBoundaries,
  sharedBoundaries,
  {
    files: ['vite.config.ts', 'playwright.config.ts', 'playwright.perf.config.ts', 'e2e/**/*.ts', 'perf/**/*.ts'],
    languageOptions: {
      globals: globals.node,
    },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: {
      globals: globals.node,
    },
  },
]);
