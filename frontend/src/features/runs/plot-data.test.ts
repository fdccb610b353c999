import { describe, expect, it } from 'vitest';

import { alignLines, maxPointsFor, nearestIndex, onAxis, smooth, stepWindowFor, windowFromScale } from './plot-data';

describe('downsampled plot data', () => {
  it('aligns lines sampled at different steps, missing steps joined, bad values as gaps', () => {
    const data = alignLines(
      [
        { label: 'a', points: [[0, 1], [10, 'NaN'], [20, 3]] },
        { label: 'b', points: [[5, 2], [20, 'Infinity']] },
      ],
      { smoothing: 0, log: false },
    );
    expect(data[0]).toEqual([0, 5, 10, 20]);
    expect(data[1]).toEqual([1, undefined, null, 3]);
    expect(data[2]).toEqual([undefined, 2, undefined, null]);
  });

  it('leaves values a log scale cannot show as gaps', () => {
    const data = alignLines([{ label: 'a', points: [[0, 1], [1, 0], [2, -1], [3, 10]] }], { smoothing: 0, log: true });
    expect(data[1]).toEqual([1, null, null, 10]);
  });

  it('smooths with a debiased moving average that keeps gaps', () => {
    expect(smooth([1, 1, null, 1], 0.9)).toEqual([1, 1, null, 1]);
    const s = smooth([0, 10], 0.5);
    expect(s[0]).toBe(0);
    expect(s[1]).toBeCloseTo(10 * 0.5 / 0.75);
    expect(smooth([1, 2], 0)).toEqual([1, 2]);
  });

  it('asks for four points per pixel column, within the server limits', () => {
    expect(maxPointsFor(800)).toBe(3200);
    expect(maxPointsFor(0)).toBe(4);
    expect(maxPointsFor(1e6)).toBe(100_000);
  });

  it('turns a zoomed scale into whole steps, and nonsense into the whole series', () => {
    expect(windowFromScale(10.2, 99.7)).toEqual({ from: 10, to: 100 });
    expect(windowFromScale(-5, 3)).toEqual({ from: 0, to: 3 });
    expect(windowFromScale(5, 5)).toBeNull();
    expect(windowFromScale(Number.NaN, 5)).toBeNull();
  });

  it('finds the nearest step for the keyboard cursor', () => {
    const xs = [0, 10, 20, 30];
    expect(nearestIndex(xs, 14)).toBe(1);
    expect(nearestIndex(xs, 16)).toBe(2);
    expect(nearestIndex(xs, -3)).toBe(0);
    expect(nearestIndex(xs, 99)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
  });

  it('places points on a time axis, wall or relative, and leaves out points without a time', () => {
    const points: [number, number, number | null][] = [[0, 1, 1000.5], [1, 2, null], [2, 3, 1010]];
    expect(onAxis('a', points, 'step', 1000)).toEqual({ line: { label: 'a', points }, untimed: 0 });
    expect(onAxis('a', points, 'wall', 1000)).toEqual({
      line: { label: 'a', points: [[1000.5, 1], [1010, 3]], steps: [0, 2] },
      untimed: 1,
    });
    const rel = onAxis('a', points, 'relative', 1000).line;
    expect(rel.points.map(([x]) => x)).toEqual([0.5, 10]);
    // Two runs on one relative axis align by time since each one's start.
    const data = alignLines([rel, onAxis('b', [[7, 9, 2000.5]], 'relative', 2000).line], { smoothing: 0, log: false });
    expect(data[0]).toEqual([0.5, 10]);
    expect(data[2]).toEqual([9, undefined]);
  });

  it('turns a zoomed time range into the steps that cover it, edges included', () => {
    const a = onAxis('a', [[0, 1, 100], [10, 1, 110], [20, 1, 120], [30, 1, 130]], 'wall', 0).line;
    const b = onAxis('b', [[5, 1, 104], [50, 1, 140]], 'wall', 0).line;
    // 112–118 lies between steps 10 and 20 of a, and between 5 and 50 of b.
    expect(stepWindowFor([a], 112, 118)).toEqual({ from: 10, to: 20 });
    expect(stepWindowFor([a, b], 112, 118)).toEqual({ from: 5, to: 50 });
    expect(stepWindowFor([a], 110, 120)).toEqual({ from: 10, to: 20 });
    expect(stepWindowFor([a], 50, 200)).toEqual({ from: 0, to: 30 });
    expect(stepWindowFor([a], 118, 112)).toBeNull();
    expect(stepWindowFor([], 1, 2)).toBeNull();
  });
});
