import { toRgba } from '@mantine/core';

/** Colour contrast per WCAG 2.1 (relative luminance, contrast ratio), for the theme's readable colours. */

/** aaTextContrast is WCAG 2.1 AA's minimum contrast for normal-size text (1.4.3). */
export const aaTextContrast = 4.5;

function channel(value: number): number {
  const c = value / 255;
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** relativeLuminance of an opaque CSS colour (hex or rgb/rgba), per WCAG 2.1. */
export function relativeLuminance(color: string): number {
  const { r, g, b } = toRgba(color);
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** contrastRatio of two opaque colours, from 1 (same) to 21 (black on white). */
export function contrastRatio(a: string, b: string): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function hex(value: number): string {
  return Math.round(Math.min(255, Math.max(0, value)))
    .toString(16)
    .padStart(2, '0');
}

/** mix moves `color` the fraction `amount` of the way toward black or white; the result is a hex colour. */
export function mix(color: string, toward: 'black' | 'white', amount: number): string {
  const { r, g, b } = toRgba(color);
  const target = toward === 'black' ? 0 : 255;
  const step = (c: number) => c + (target - c) * amount;
  return `#${hex(step(r))}${hex(step(g))}${hex(step(b))}`;
}

/**
 * readableColor returns `color` unchanged when it reaches `minimum` contrast
 * against every one of `backgrounds`, else the least shift of it toward black
 * or white (in 1 % steps) that does. Hue stays as close to the original as it can.
 */
export function readableColor(
  color: string,
  backgrounds: readonly string[],
  toward: 'black' | 'white',
  minimum: number,
): string {
  const enough = (c: string) => backgrounds.every((bg) => contrastRatio(c, bg) >= minimum);
  if (enough(color)) {
    return color;
  }
  for (let percent = 1; percent <= 100; percent += 1) {
    const candidate = mix(color, toward, percent / 100);
    if (enough(candidate)) {
      return candidate;
    }
  }
  return toward === 'black' ? '#000000' : '#ffffff';
}
