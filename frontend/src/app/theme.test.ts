import { DEFAULT_THEME, mergeMantineTheme } from '@mantine/core';
import { describe, expect, it } from 'vitest';

import { aaTextContrast, contrastRatio } from '@/lib/contrast';

import { alertColors, menuColors, theme } from './theme';
import { themeCss, themeVariables } from './theme-css';

const variables = themeVariables();

/** colorIn resolves a theme variable (following var() references) in one colour scheme. */
function colorIn(scheme: 'light' | 'dark', name: string): string {
  const scope: Record<string, string> = { ...variables.variables, ...variables[scheme] };
  let value = scope[name];
  while (value !== undefined) {
    const reference = /^var\((--[\w-]+)\)$/.exec(value)?.[1];
    if (reference === undefined) {
      return value;
    }
    value = scope[reference];
  }
  throw new Error(`${name} is not defined in the ${scheme} scheme`);
}

// The colours the app uses in components (badges, alerts, buttons, meters).
const usedColors = ['blue', 'red', 'green', 'teal', 'orange', 'yellow', 'gray'];

describe('theme', () => {
  it('ships its CSS variables in src/styles/theme.css, generated from the theme', async () => {
    await expect(themeCss()).toMatchFileSnapshot('../styles/theme.css');
  });

  describe.each(['light', 'dark'] as const)('in the %s scheme, text reaches 4.5:1 (WCAG 2.1 AA)', (scheme) => {
    const v = (name: string) => colorIn(scheme, name);
    const surfaces = ['--mantine-color-body', '--mantine-color-default', '--mantine-color-default-hover'];
    const tints = alertColors.map((c) => `--mantine-color-${c}-light`);

    it.each(['--mantine-color-text', '--mantine-color-dimmed', '--mantine-color-anchor', '--mantine-color-error'])(
      '%s on the page, cards and hovered rows',
      (text) => {
        for (const bg of surfaces) {
          expect(contrastRatio(v(text), v(bg)), `${text} on ${bg}`).toBeGreaterThanOrEqual(aaTextContrast);
        }
      },
    );

    it.each(['--mantine-color-dimmed', '--mantine-color-anchor'])('%s inside alerts of every colour the app gives them', (text) => {
      for (const bg of tints) {
        expect(contrastRatio(v(text), v(bg)), `${text} on ${bg}`).toBeGreaterThanOrEqual(aaTextContrast);
      }
    });

    it.each(usedColors.filter((c) => c !== 'gray'))('%s: a coloured menu item (shade 6 inside menus) on the dropdown and its hover tint', (c) => {
      const full = mergeMantineTheme(DEFAULT_THEME, theme);
      const color = menuColors(full)[scheme][`--mantine-color-${c}-6`] ?? v(`--mantine-color-${c}-6`);
      for (const bg of [...surfaces, `--mantine-color-${c}-light-hover`]) {
        expect(contrastRatio(color, v(bg)), `${c} menu item on ${bg}`).toBeGreaterThanOrEqual(aaTextContrast);
      }
    });

    it.each(usedColors)('%s: light-variant text on its tint, and white on the filled colour', (c) => {
      const lightColor = v(`--mantine-color-${c}-light-color`);
      expect(contrastRatio(lightColor, v(`--mantine-color-${c}-light`))).toBeGreaterThanOrEqual(aaTextContrast);
      expect(contrastRatio(lightColor, v(`--mantine-color-${c}-light-hover`))).toBeGreaterThanOrEqual(aaTextContrast);
      expect(contrastRatio('#ffffff', v(`--mantine-color-${c}-filled`))).toBeGreaterThanOrEqual(aaTextContrast);
      expect(contrastRatio('#ffffff', v(`--mantine-color-${c}-filled-hover`))).toBeGreaterThanOrEqual(aaTextContrast);
    });
  });

  it('keeps dimmed text distinguishable from body text', () => {
    for (const scheme of ['light', 'dark'] as const) {
      expect(colorIn(scheme, '--mantine-color-dimmed')).not.toBe(colorIn(scheme, '--mantine-color-text'));
    }
  });
});
