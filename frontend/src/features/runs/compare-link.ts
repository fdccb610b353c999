/**
 * The link to compare, apart from compare.ts: the runs table (the first
 * page) needs only this, not compare's grouping and colours.
 */

/** maxCompared is the most runs compare overlays (the first 100 of a view). */
export const maxCompared = 100;

/** compareHref is the compare page for these runs (the first maxCompared of them). */
export function compareHref(ids: readonly string[]): string {
  return `/compare?ids=${ids.slice(0, maxCompared).map(encodeURIComponent).join(',')}`;
}
