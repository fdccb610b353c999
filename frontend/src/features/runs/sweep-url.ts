/**
 * The little of the sweep view's URL state the runs view needs on the first
 * page (the rest, in sweep-state.ts, loads with the sweep panel's chunk).
 */

/** sweepParams are the search parameters the sweep owns (the runs view keeps them as they are). */
export const sweepParams = ['view', 'sweep', 'sx', 'sy', 'brush'] as const;

/** sweepOpen tells whether the URL shows the sweep panel (`view=sweep`). */
export function sweepOpen(search: URLSearchParams): boolean {
  return search.get('view') === 'sweep';
}

/**
 * toggleSweep opens or closes the sweep panel. Closing drops the brushes:
 * their conditions stay in the query as plain conditions, and the axes stay
 * for the next time the panel opens.
 */
export function toggleSweep(search: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams(search);
  if (sweepOpen(search)) {
    out.delete('view');
    out.delete('brush');
  } else {
    out.set('view', 'sweep');
  }
  return out;
}

/** keepSweep copies the sweep's parameters from the current search onto a new view's search. */
export function keepSweep(next: URLSearchParams, current: URLSearchParams): URLSearchParams {
  for (const name of sweepParams) {
    const v = current.get(name);
    if (v !== null) {
      next.set(name, v);
    }
  }
  return next;
}
