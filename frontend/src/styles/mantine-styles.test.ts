import { describe, expect, it } from 'vitest';

// mantine-styles.ts lists Mantine's styles per component instead of the whole
// styles.css (the first page's weight): a component imported anywhere in src
// whose styles are not listed would render unstyled.
const sources = import.meta.glob<string>(['../**/*.{ts,tsx}', '!../**/*.test.{ts,tsx}'], {
  query: '?raw',
  import: 'default',
  eager: true,
});
// The files Mantine ships (keys only: nothing is loaded).
const shipped = new Set(
  Object.keys(import.meta.glob('/node_modules/@mantine/core/styles/*.css')).map((p) => p.split('/').pop()?.replace(/\.css$/, '')),
);

function importedComponents(): Set<string> {
  const names = new Set<string>();
  for (const text of Object.values(sources)) {
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@mantine\/core'/g)) {
      for (const part of (m[1] ?? '').split(',')) {
        const name = part.trim().split(/\s+as\s+/)[0] ?? '';
        if (/^[A-Z]/.test(name)) {
          names.add(name);
        }
      }
    }
  }
  return names;
}

describe('Mantine styles per component', () => {
  const listing = sources['./mantine-styles.ts'] ?? '';
  const listed = new Set([...listing.matchAll(/import '@mantine\/core\/styles\/([\w-]+)\.css'/g)].map((m) => m[1]));

  it('lists the styles of every component src imports', () => {
    const imported = importedComponents();
    expect(imported.has('Button')).toBe(true); // the scan finds imports at all
    expect(shipped.has('Button')).toBe(true);
    expect([...imported].filter((n) => shipped.has(n) && !listed.has(n))).toEqual([]);
  });

  it('lists only files Mantine ships', () => {
    expect(listed.size).toBeGreaterThan(40);
    expect([...listed].filter((n) => !shipped.has(n))).toEqual([]);
  });
});
