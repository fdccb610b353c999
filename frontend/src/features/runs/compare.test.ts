import { describe, expect, it } from 'vitest';

import { contrastRatio } from '@/lib/contrast';

import {
  compareBudget,
  compareIds,
  formatCompareState,
  groupLabel,
  groupOptions,
  groupRuns,
  maxCompared,
  parseCompareState,
  pointsPerRun,
  runColor,
  runPalette,
} from './compare';
import type { Run } from './types';

function run(id: string, params: Record<string, unknown>, tags: string[] = []): Run {
  return { id, name: id, params, tags, metrics: {} } as unknown as Run;
}

describe('the runs compare takes', () => {
  it('keeps up to 100 distinct ids from the URL', () => {
    const ids = Array.from({ length: 130 }, (_, i) => `r${String(i)}`);
    expect(compareIds([...ids, 'r1'].join(','))).toHaveLength(maxCompared);
    expect(maxCompared).toBe(100);
    expect(compareIds('a,,b,a')).toEqual(['a', 'b']);
    expect(compareIds(null)).toEqual([]);
  });
});

describe('the point budget shared between runs', () => {
  it('gives each run an equal share of the budget', () => {
    expect(compareBudget).toBe(100_000);
    expect(pointsPerRun(100, 100_000)).toBe(1_000);
    expect(pointsPerRun(3, 100_000)).toBe(33_333);
    expect(pointsPerRun(100, 100_000) * 100).toBeLessThanOrEqual(compareBudget);
  });

  it('never asks for more than the chart can show, nor fewer than M4 needs', () => {
    expect(pointsPerRun(2, 5_120)).toBe(5_120);
    expect(pointsPerRun(1, 5_120)).toBe(5_120);
    expect(pointsPerRun(0, 5_120)).toBe(5_120);
    expect(pointsPerRun(1_000_000, 5_120)).toBe(4);
  });
});

describe('a run’s colour', () => {
  it('is a function of its id alone', () => {
    const a = runColor('6b12c939aa');
    expect(runColor('6b12c939aa')).toBe(a);
    expect(runPalette).toContain(a);
  });

  it('spreads ids over the palette', () => {
    const used = new Set(Array.from({ length: 200 }, (_, i) => runColor(`run-${String(i)}`)));
    expect(used.size).toBe(runPalette.length);
  });

  it('stands out at 3:1 from the page and cards in both colour schemes', () => {
    // Light body, dark body (dark-7) and dark cards (dark-6).
    for (const bg of ['#ffffff', '#242424', '#2e2e2e']) {
      for (const c of runPalette) {
        expect(contrastRatio(c, bg), `${c} on ${bg}`).toBeGreaterThanOrEqual(3);
      }
    }
  });
});

describe('compare in the URL', () => {
  it('writes and reads back ids, series, group and band', () => {
    const state = { ids: ['a', 'b'], series: 'train/loss', group: 'params.opt', band: 'minmax' as const };
    const q = formatCompareState(state);
    expect(q.toString()).toBe('ids=a%2Cb&s=train%2Floss&group=params.opt&band=minmax');
    expect(parseCompareState(new URLSearchParams(q.toString()))).toEqual(state);
  });

  it('leaves defaults out and reads unknown values as defaults', () => {
    expect(formatCompareState({ ids: ['a'], series: null, group: null, band: 'minmax' }).toString()).toBe('ids=a');
    expect(parseCompareState(new URLSearchParams('band=bogus&group='))).toEqual({
      ids: [],
      series: null,
      group: null,
      band: 'std',
    });
  });
});

describe('grouping runs', () => {
  const runs = [
    run('a', { opt: 'adam', lr: 0.1 }, ['x']),
    run('b', { opt: 'sgd', lr: 0.1 }, []),
    run('c', { opt: 'adam', nested: { depth: 2 } }, ['x', 'y']),
    run('d', {}, ['y']),
  ];

  it('offers every param path and the tags', () => {
    expect(groupOptions(runs).map((o) => o.value)).toEqual([
      'params.lr',
      'params.nested.depth',
      'params.opt',
      'tags',
      'tag:x',
      'tag:y',
    ]);
  });

  it('puts runs with the same value together, runs without it in (none)', () => {
    expect(groupRuns(runs, 'params.opt')).toEqual([
      { label: '(none)', runIds: ['d'] },
      { label: 'adam', runIds: ['a', 'c'] },
      { label: 'sgd', runIds: ['b'] },
    ]);
    expect(groupLabel(runs[2] as Run, 'params.nested.depth')).toBe('2');
  });

  it('groups by the set of tags or by one tag', () => {
    expect(groupRuns(runs, 'tags').map((g) => g.label)).toEqual(['(none)', 'x', 'x, y', 'y']);
    expect(groupRuns(runs, 'tag:y')).toEqual([
      { label: 'with y', runIds: ['c', 'd'] },
      { label: 'without y', runIds: ['a', 'b'] },
    ]);
  });
});
