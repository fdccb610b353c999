import {
  DEFAULT_THEME,
  deepMerge,
  defaultCssVariablesResolver,
  mergeMantineTheme,
  type ConvertCSSVariablesInput,
} from '@mantine/core';

import { menuColors, readableColors, theme } from './theme';

type Section = keyof ConvertCSSVariablesInput;

/** themeVariables is every CSS variable of the app's theme, as MantineProvider would inject them. */
export function themeVariables(): ConvertCSSVariablesInput {
  const full = mergeMantineTheme(DEFAULT_THEME, theme);
  return deepMerge(defaultCssVariablesResolver(full), readableColors(full));
}

/**
 * themeCss is src/styles/theme.css: the CSS variables in which the app's theme
 * differs from Mantine's default theme (whose variables @mantine/core/styles.css
 * already ships). It is loaded after that file, with selectors of the same
 * specificity, so these win.
 */
export function themeCss(): string {
  const ours = themeVariables();
  const defaults = defaultCssVariablesResolver(DEFAULT_THEME);
  const menus = menuColors(mergeMantineTheme(DEFAULT_THEME, theme));
  const rule = (selector: string, entries: [string, string][]) =>
    entries.length === 0 ? '' : `\n${selector} {\n${entries.map(([name, value]) => `  ${name}: ${value};`).join('\n')}\n}\n`;
  const block = (selector: string, section: Section) =>
    rule(
      selector,
      Object.entries(ours[section]).filter(([name, value]) => (defaults[section] as Record<string, string>)[name] !== value),
    );
  return [
    '/*',
    ' * Generated from src/app/theme.ts (the app theme and its readableColors resolver)',
    ' * by src/app/theme.test.ts; do not edit. After changing the theme, regenerate with',
    ' *   npx vitest run -u src/app/theme.test.ts',
    ' * MantineProvider injects no CSS variables (the CSP forbids inline styles), so this',
    ' * file is how the theme reaches the page. See src/app/provider.tsx.',
    ' */',
    block(':root', 'variables') +
      block(":root[data-mantine-color-scheme='light']", 'light') +
      block(":root[data-mantine-color-scheme='dark']", 'dark') +
      rule(":root[data-mantine-color-scheme='light'] [data-menu-dropdown]", Object.entries(menus.light)) +
      rule(":root[data-mantine-color-scheme='dark'] [data-menu-dropdown]", Object.entries(menus.dark)),
  ].join('\n');
}
