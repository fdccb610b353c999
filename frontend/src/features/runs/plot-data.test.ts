import { describe, expect, it } from 'vitest';

import {
  alignLines,
  forLogAxes,
  joinOnStep,
  maxPointsFor,
  nearestIndex,
  onAxis,
  smooth,
  stepWindowFor,
  windowFromScale,
} from './plot-data';

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

describe('one series against another', () => {
  it('joins on step, interpolates a step the x series lacks, leaves out steps outside it, sorts by x', () => {
    const lr: [number, number][] = [[0, 0.1], [10, 0.3], [20, 0.2]];
    const loss: [number, number | 'NaN'][] = [[0, 5], [5, 4], [10, 3], [20, 'NaN'], [30, 1]];
    const { line, unmatched } = joinOnStep('loss', loss, lr);
    // Step 5 lies halfway between 0.1 and 0.3; step 30 is past the last lr.
    expect(line.points.map(([x]) => x)).toEqual([0.1, expect.closeTo(0.2) as number, 0.2, 0.3]);
    expect(line.points.map(([, v]) => v)).toEqual([5, 4, 'NaN', 3]);
    expect(line.steps).toEqual([0, 5, 20, 10]);
    expect(unmatched).toBe(1);
  });

  it('treats an x that is not finite as missing, and an empty x series as no match', () => {
    expect(joinOnStep('y', [[1, 2]], [[0, 'Infinity'], [1, 'NaN']]).unmatched).toBe(1);
    expect(joinOnStep('y', [[1, 2], [2, 3]], []).unmatched).toBe(2);
  });
});

describe('log axes', () => {
  it('leaves x ≤ 0 out of a log x axis and counts values ≤ 0 a log y axis cannot show', () => {
    const lines = [{ label: 'a', points: [[0, 1], [1, -2], [2, 0], [3, 4]] as [number, number][] }];
    const both = forLogAxes(lines, true, true);
    expect(both.lines[0]?.points).toEqual([[1, -2], [2, 0], [3, 4]]);
    expect(both.leftOutX).toBe(1);
    expect(both.leftOutY).toBe(2);
    // The values stay as gaps on the y axis.
    expect(alignLines(both.lines, { smoothing: 0, log: true })[1]).toEqual([null, null, 4]);
    const none = forLogAxes(lines, false, false);
    expect(none.lines[0]?.points).toHaveLength(4);
    expect(none.leftOutX + none.leftOutY).toBe(0);
  });

  it('keeps the steps of a time or series axis in step with the points it keeps', () => {
    const line = { label: 'a', points: [[-1, 1], [2, 1]] as [number, number][], steps: [7, 8] };
    expect(forLogAxes([line], true, false).lines[0]).toEqual({ label: 'a', points: [[2, 1]], steps: [8] });
  });
});
