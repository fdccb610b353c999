import { describe, expect, it } from 'vitest';

import type { Run, RunsPage } from '../types';

import { isLive, livePagesMax } from './runs';

const page = (statuses: Run['status'][]): RunsPage => ({
  runs: statuses.map((status, i) => ({ id: String(i), status }) as Run),
  next: null,
  total: statuses.length,
  total_exact: true,
  warnings: [],
});

describe('live polling', () => {
  it('polls while a loaded run may still change', () => {
    expect(isLive([page(['succeeded', 'running'])])).toBe(true);
    expect(isLive([page(['queued'])])).toBe(true);
    expect(isLive([page(['stale'])])).toBe(true);
    expect(isLive([page(['succeeded', 'failed', 'cancelled'])])).toBe(false);
    expect(isLive(undefined)).toBe(false);
  });

  it('stops once the view is scrolled past the first pages (a refetch would ask for all of them)', () => {
    const pages = Array.from({ length: livePagesMax }, () => page(['running']));
    expect(isLive(pages)).toBe(true);
    expect(isLive([...pages, page(['running'])])).toBe(false);
  });
});
