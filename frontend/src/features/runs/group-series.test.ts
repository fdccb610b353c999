import { describe, expect, it } from 'vitest';

import { aggregateRuns, groupLines } from './group-series';
import type { Point } from './types';

describe('the mean and band of a group of runs', () => {
  it('takes the mean and the population std at shared steps', () => {
    const agg = aggregateRuns(
      [
        [[0, 1], [1, 2], [2, 3]],
        [[0, 3], [1, 4], [2, 5]],
      ],
      'std',
    );
    expect(agg.steps).toEqual([0, 1, 2]);
    expect(agg.mean).toEqual([2, 3, 4]);
    expect(agg.lower).toEqual([1, 2, 3]);
    expect(agg.upper).toEqual([3, 4, 5]);
    expect(agg.runs).toEqual([2, 2, 2]);
  });

  it('gives min to max as the other band', () => {
    const agg = aggregateRuns([[[0, 1]], [[0, 5]], [[0, 3]]], 'minmax');
    expect(agg.mean).toEqual([3]);
    expect(agg.lower).toEqual([1]);
    expect(agg.upper).toEqual([5]);
  });

  it('aligns runs sampled at different steps, between their points only', () => {
    // Run a has points at 0 and 10; run b at 5 and 20.
    const agg = aggregateRuns(
      [
        [[0, 0], [10, 10]],
        [[5, 100], [20, 100]],
      ],
      'minmax',
    );
    expect(agg.steps).toEqual([0, 5, 10, 20]);
    // Step 0: only a (b starts at 5). Step 5: a interpolated to 5, b 100.
    // Step 10: a 10, b 100. Step 20: only b (a ended at 10).
    expect(agg.runs).toEqual([1, 2, 2, 1]);
    expect(agg.mean).toEqual([0, 52.5, 55, 100]);
    expect(agg.lower).toEqual([0, 5, 10, 100]);
    expect(agg.upper).toEqual([0, 100, 100, 100]);
  });

  it('draws a group of one run as the run, with a band of no width', () => {
    const agg = aggregateRuns([[[1, 2], [2, 4]]], 'std');
    expect(agg.mean).toEqual([2, 4]);
    expect(agg.lower).toEqual(agg.mean);
    expect(agg.upper).toEqual(agg.mean);
  });

  it('counts NaN and infinite values as missing, never a NaN mean', () => {
    const agg = aggregateRuns(
      [
        [[0, 1], [1, 'NaN'], [2, 3]],
        [[0, 3], [1, 'Infinity'], [2, 5]],
        [[0, 'NaN']],
      ],
      'std',
    );
    expect(agg.steps).toEqual([0, 2]);
    expect(agg.mean).toEqual([2, 4]);
    expect(agg.runs).toEqual([2, 2]);
    const all = [...agg.mean, ...agg.lower, ...agg.upper];
    expect(all.every((v) => v !== null && Number.isFinite(v))).toBe(true);
  });

  it('is empty with no run or only gaps', () => {
    expect(aggregateRuns([], 'std').steps).toEqual([]);
    expect(aggregateRuns([[[0, 'NaN']]], 'std').mean).toEqual([]);
  });

  it('reads points given out of step order', () => {
    const pts: Point[] = [[2, 3], [0, 1], [1, 2]];
    expect(aggregateRuns([pts], 'std').mean).toEqual([1, 2, 3]);
  });

  it('makes a mean line and two band edges', () => {
    const agg = aggregateRuns([[[0, 1]], [[0, 3]]], 'std');
    const [mean, lo, hi] = groupLines('adam', agg, 'std');
    expect(mean).toEqual({ label: 'adam', points: [[0, 2]] });
    expect(lo.label).toBe('adam − std');
    expect(hi.points).toEqual([[0, 3]]);
  });
});
