import type { TokenScope } from '@/types/api';

/** tokenLimits are the server's limits on API token requests (auth/apitokens.go), checked before sending. */
export const tokenLimits = { name: 100, projects: 50, projectName: 200, minDays: 1, maxDays: 365, defaultDays: 90 };

/** scopeOrder is the order scopes are listed and sent in. */
export const scopeOrder: readonly TokenScope[] = ['runs:read', 'runs:write'];

/** printable mirrors Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u;

/** runeCount counts code points, as the server (Go) counts a name's length. */
function runeCount(s: string): number {
  return Array.from(s).length;
}

/** tokenNameProblem says what is wrong with a token name, or null. */
export function tokenNameProblem(value: string): string | null {
  const name = value.trim();
  if (name === '') {
    return 'Give the token a name that says where it is used.';
  }
  if (runeCount(name) > tokenLimits.name || !printable.test(name)) {
    return `At most ${tokenLimits.name} printable characters (no tabs or line breaks).`;
  }
  return null;
}

/** tokenScopesProblem says what is wrong with the chosen scopes, or null. */
export function tokenScopesProblem(scopes: readonly string[]): string | null {
  return scopes.length === 0 ? 'Choose at least one scope.' : null;
}

/** tokenProjectsProblem says what is wrong with the project list (empty: every project), or null. */
export function tokenProjectsProblem(projects: readonly string[]): string | null {
  if (projects.length > tokenLimits.projects) {
    return `At most ${tokenLimits.projects} projects.`;
  }
  if (projects.some((p) => p.trim() === '' || runeCount(p) > tokenLimits.projectName || !printable.test(p))) {
    return `Project names are 1 to ${tokenLimits.projectName} printable characters.`;
  }
  return null;
}

/** tokenExpiryProblem says what is wrong with the lifetime in days (a number input's value), or null. */
export function tokenExpiryProblem(value: number | string): string | null {
  const days = typeof value === 'number' ? value : Number(value);
  return value === '' || !Number.isInteger(days) || days < tokenLimits.minDays || days > tokenLimits.maxDays
    ? `Between ${tokenLimits.minDays} and ${tokenLimits.maxDays} days.`
    : null;
}
