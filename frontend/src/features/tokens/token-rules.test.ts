import { describe, expect, it } from 'vitest';

import { tokenExpiryProblem, tokenNameProblem, tokenProjectsProblem, tokenScopesProblem } from './token-rules';

describe('token rules (as the server checks them)', () => {
  it('takes a name of 1 to 100 printable characters, counted as the server counts them', () => {
    expect(tokenNameProblem('cluster A')).toBeNull();
    expect(tokenNameProblem('  ')).toMatch(/Give the token a name/);
    expect(tokenNameProblem('x'.repeat(100))).toBeNull();
    expect(tokenNameProblem('x'.repeat(101))).toMatch(/At most 100/);
    // 100 code points, 200 UTF-16 units: the server counts runes.
    expect(tokenNameProblem('🧪'.repeat(100))).toBeNull();
    expect(tokenNameProblem('Grüße – Läufe')).toBeNull();
  });

  it.each([
    ['a tab', 'a\tb'],
    ['a line break', 'a\nb'],
    ['a no-break space', 'a\u00a0b'],
    ['a zero-width joiner on its own', 'a\u200db'],
  ])('refuses a name with %s, which Go does not call printable', (_what, name) => {
    expect(tokenNameProblem(name)).toMatch(/printable/);
  });

  it('needs at least one scope', () => {
    expect(tokenScopesProblem([])).toMatch(/at least one/);
    expect(tokenScopesProblem(['runs:read'])).toBeNull();
  });

  it('takes up to 50 projects of 1 to 200 printable characters', () => {
    expect(tokenProjectsProblem([])).toBeNull();
    expect(tokenProjectsProblem(Array.from({ length: 50 }, (_, i) => `p${String(i)}`))).toBeNull();
    expect(tokenProjectsProblem(Array.from({ length: 51 }, (_, i) => `p${String(i)}`))).toMatch(/At most 50/);
    expect(tokenProjectsProblem(['x'.repeat(201)])).toMatch(/1 to 200/);
    expect(tokenProjectsProblem(['a\tb'])).toMatch(/printable/);
    expect(tokenProjectsProblem(['sweep "12" <b>'])).toBeNull();
  });

  it('takes a whole number of days from 1 to 365', () => {
    expect(tokenExpiryProblem(1)).toBeNull();
    expect(tokenExpiryProblem(365)).toBeNull();
    expect(tokenExpiryProblem('90')).toBeNull();
    for (const bad of [0, 366, 1.5, '', 'soon']) {
      expect(tokenExpiryProblem(bad)).toMatch(/Between 1 and 365/);
    }
  });
});
