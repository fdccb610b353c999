import { describe, expect, it } from 'vitest';

import { alignLines, maxPointsFor, nearestIndex, smooth, windowFromScale } from './plot-data';

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
});
