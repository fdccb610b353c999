import {
  createTheme,
  defaultCssVariablesResolver,
  isVirtualColor,
  keys,
  type ConvertCSSVariablesInput,
  type CSSVariablesResolver,
  type MantineTheme,
} from '@mantine/core';

import { aaTextContrast, contrastRatio, mix, readableColor } from '@/lib/contrast';

/**
 * theme is the app's Mantine theme.
 *
 * Filled colours use shade 8 in the light scheme too (Mantine's default is 6,
 * on which white text reaches only 3.6:1), so buttons, their hover shade and
 * links start darker; `readableColors` below does the rest.
 *
 * Modal's scroll lock (react-remove-scroll) injects a <style> tag, which the CSP
 * blocks; without it the page behind a dialog can scroll, which is harmless.
 * Its close button is an icon: without a label screen readers announce a bare
 * "button" (axe: button-name). (A plain object rather than Modal.extend, so the
 * first bundle need not carry Modal.)
 */
export const theme = createTheme({
  primaryShade: { light: 8, dark: 8 },
  components: {
    Modal: { defaultProps: { lockScroll: false, closeButtonProps: { 'aria-label': 'Close' } } },
    // The placeholder Menu focuses on opening is a role="presentation" child of
    // role="menu", which ARIA does not allow (axe: aria-required-children); without
    // it the first item takes focus on opening, as the WAI-ARIA menu button pattern
    // has it (arrows move on, Escape returns to the button).
    Menu: { defaultProps: { withInitialFocusPlaceholder: false } },
    // A table wider than the page scrolls sideways; keyboard users must be able to
    // reach that scroll area with Tab to scroll it (axe: scrollable-region-focusable).
    TableScrollContainer: { defaultProps: { scrollAreaProps: { viewportProps: { tabIndex: 0 } } } },
  },
});

/**
 * minimumContrast is what the theme's text colours reach on every background
 * they are drawn on: WCAG 2.1 AA's 4.5:1 for normal text, plus a little margin
 * so that no rounding anywhere turns a pass into a fail.
 */
export const minimumContrast = aaTextContrast + 0.1;

/**
 * alertColors are the colours the app gives alerts and notices, whose tinted
 * background may hold dimmed text and links (a request ID, a "Sign in" link).
 */
export const alertColors = ['blue', 'red', 'orange', 'green'] as const;

type Scheme = 'light' | 'dark';
type Variables = ConvertCSSVariablesInput['light'];
type VariableName = keyof Variables;

/** resolve follows `var(--x)` references to a concrete colour. */
function resolve(scope: Variables, name: VariableName): string {
  let value = scope[name];
  for (let depth = 0; depth < 10 && value !== undefined; depth += 1) {
    const reference = /^var\((--[\w-]+)\)$/.exec(value.trim())?.[1];
    if (reference === undefined) {
      return value;
    }
    value = scope[reference as VariableName];
  }
  throw new Error(`theme: CSS variable ${name} does not resolve to a colour`);
}

/** paletteColors are the theme's colour names (virtual colours are aliases of them). */
function paletteColors(t: MantineTheme): string[] {
  return keys(t.colors).filter((name) => !isVirtualColor(t.colors[name]));
}

/** SchemeColors are one scheme's readable colours: variables of the page, and of menus. */
interface SchemeColors {
  root: Variables;
  menu: Variables;
}

function readableScheme(t: MantineTheme, base: ConvertCSSVariablesInput, scheme: Scheme): SchemeColors {
  const scope: Variables = { ...base.variables, ...base[scheme] };
  const out: Variables = {};
  const menu: Variables = {};
  const colors = paletteColors(t);
  const value = (name: VariableName) => resolve(scope, name);
  // Text gains contrast by going darker on light pages and lighter on dark ones.
  const away = scheme === 'light' ? 'black' : 'white';
  const make = (name: VariableName, backgrounds: readonly string[], toward: 'black' | 'white') => {
    const current = value(name);
    const next = readableColor(current, backgrounds, toward, minimumContrast);
    if (next !== current) {
      out[name] = next;
      scope[name] = next; // later variables that refer to this one see the new colour
    }
  };

  // Where text sits: the page, cards and dialogs, hovered rows and default buttons,
  // and the tinted background of alerts.
  const surfaces = [
    value('--mantine-color-body'),
    value('--mantine-color-default'),
    value('--mantine-color-default-hover'),
  ];
  const tints = alertColors.map((c) => value(`--mantine-color-${c}-light`));

  make('--mantine-color-dimmed', [...surfaces, ...tints], away);
  make('--mantine-color-anchor', [...surfaces, ...tints], away);
  make('--mantine-color-error', surfaces, away);
  make('--mantine-color-placeholder', [value('--mantine-color-default')], away);
  for (const c of colors) {
    // "light" variant: its text on its tint, also when hovered.
    make(`--mantine-color-${c}-light-color`, [value(`--mantine-color-${c}-light`), value(`--mantine-color-${c}-light-hover`)], away);
    // "filled" variant: white text on the colour, so the colour goes darker in both schemes.
    make(`--mantine-color-${c}-filled`, [t.white], 'black');
    make(`--mantine-color-${c}-filled-hover`, [t.white], 'black');
    const filled = value(`--mantine-color-${c}-filled`);
    if (contrastRatio(value(`--mantine-color-${c}-filled-hover`), filled) < 1.15) {
      // Both were pushed to about the same colour: keep hover visibly darker.
      const darker = mix(filled, 'black', 0.15);
      out[`--mantine-color-${c}-filled-hover`] = darker;
      scope[`--mantine-color-${c}-filled-hover`] = darker;
    }
    // Coloured text (`c="red"`) and outline buttons on the page.
    make(`--mantine-color-${c}-text`, surfaces, away);
    make(`--mantine-color-${c}-outline`, surfaces, away);
  }
  // The neutral palettes paint the dropdown itself (dark-6 is its background in
  // the dark scheme, gray and dark its borders and hover), so they keep their shades.
  for (const c of colors.filter((name) => name !== 'dark' && name !== 'gray')) {
    // Menu.Item colours its text with the raw shade 6, var(--mantine-color-<c>-6),
    // not a variant variable; inside menus that shade becomes one readable on the
    // dropdown and on the item's hover tint.
    const shade = value(`--mantine-color-${c}-6`);
    const readable = readableColor(shade, [...surfaces, value(`--mantine-color-${c}-light-hover`)], away, minimumContrast);
    if (readable !== shade) {
      menu[`--mantine-color-${c}-6`] = readable;
    }
  }
  return { root: out, menu };
}

/**
 * menuColors are the colours `readableColors` cannot express as page-wide
 * variables: Menu.Item's shade-6 text colours, redefined inside menu dropdowns
 * (`[data-menu-dropdown]`) per scheme.
 */
export function menuColors(t: MantineTheme): Record<Scheme, Variables> {
  const base = defaultCssVariablesResolver(t);
  return { light: readableScheme(t, base, 'light').menu, dark: readableScheme(t, base, 'dark').menu };
}

/**
 * readableColors is the theme's CSS-variables resolver: Mantine's defaults,
 * with every text colour the app draws (dimmed text, links, errors,
 * placeholders, and each colour's light, filled, text and outline variants)
 * moved just far enough toward black (light scheme) or white (dark scheme) to
 * reach `minimumContrast` on each background it appears on. Mantine's own
 * dimmed grey, for one, reaches 3.3:1 on white and 3.5:1 on a dark card.
 *
 * Nothing injects these variables at runtime (the CSP forbids inline styles):
 * src/styles/theme.css holds them (with `menuColors`), generated from this
 * resolver by src/app/theme.test.ts, which fails when the two differ.
 */
export const readableColors: CSSVariablesResolver = (t) => {
  const base = defaultCssVariablesResolver(t);
  return { variables: {}, light: readableScheme(t, base, 'light').root, dark: readableScheme(t, base, 'dark').root };
};
