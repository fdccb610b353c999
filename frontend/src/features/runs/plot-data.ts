/**
 * Turning downsampled series windows (GET /api/runs/{id}/series, M4) into
 * the aligned columns a uPlot chart draws: one x column (steps, or wall
 * times, or times since the run's first point) and one y column per line, with gaps (null) where a line has no point, where the
 * value is NaN or infinite, or where a log scale cannot show it.
 */
import { toNumber } from './format';
import type { Point } from './types';

/** Line is one drawn line: a label and its points, [x, value]. */
export interface Line {
  label: string;
  points: readonly Point[];
  /** steps holds each point's step when x is not the step (a time axis). */
  steps?: readonly number[];
}

/** XAxis is what the x axis shows: steps, wall time, or time since the run's first point. */
export type XAxis = 'step' | 'wall' | 'relative';

/**
 * onAxis places a series' points on the x axis. On a time axis x is the
 * point's time in seconds (minus origin, the run's first time, for
 * `relative`); points without a time are left out, and their count given.
 */
export function onAxis(
  label: string,
  points: readonly Point[],
  axis: XAxis,
  origin: number,
): { line: Line; untimed: number } {
  if (axis === 'step') {
    return { line: { label, points }, untimed: 0 };
  }
  const shift = axis === 'relative' ? origin : 0;
  const placed: Point[] = [];
  const steps: number[] = [];
  let untimed = 0;
  for (const [step, value, time] of points) {
    if (typeof time !== 'number') {
      untimed++;
      continue;
    }
    placed.push([time - shift, value]);
    steps.push(step);
  }
  return { line: { label, points: placed, steps }, untimed };
}

/**
 * stepWindowFor turns a zoomed range of a time axis into the steps to ask
 * the server for: per line, from the last point at or before min to the
 * first at or after max (so the lines reach the edges), over all lines.
 */
export function stepWindowFor(lines: readonly Line[], min: number, max: number): StepWindow {
  let from = Infinity;
  let to = -Infinity;
  for (const line of lines) {
    const xs = line.points.map(([x]) => x);
    if (xs.length === 0) {
      continue;
    }
    let lo = 0;
    while (lo + 1 < xs.length && (xs[lo + 1] ?? Infinity) <= min) {
      lo++;
    }
    let hi = xs.length - 1;
    while (hi > 0 && (xs[hi - 1] ?? -Infinity) >= max) {
      hi--;
    }
    const step = (k: number) => line.steps?.[k] ?? xs[k] ?? 0;
    from = Math.min(from, step(lo), step(hi));
    to = Math.max(to, step(lo), step(hi));
  }
  if (!Number.isFinite(from) || !Number.isFinite(to) || !(max > min)) {
    return null;
  }
  return { from, to };
}

export interface PlotOptions {
  /** smoothing is the exponential moving average weight, 0 (off) to 0.99. */
  smoothing: number;
  /** log draws the y axis on a log scale: values ≤ 0 become gaps. */
  log: boolean;
}

/** PlotData is uPlot's AlignedData: steps, then one column per line. */
export type PlotData = [number[], ...(number | null | undefined)[][]];

/** maxPointsFor is how many points to ask for at a plot width: M4 needs four per pixel column. */
export function maxPointsFor(widthPx: number): number {
  return Math.max(4, Math.min(100_000, Math.round(widthPx) * 4));
}

/**
 * smooth applies a debiased exponential moving average (as TensorBoard does)
 * over the finite values, leaving gaps as gaps.
 */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) {
    return values;
  }
  const w = Math.min(weight, 0.999);
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null) {
      return null;
    }
    last = last * w + (1 - w) * v;
    n++;
    return last / (1 - Math.pow(w, n));
  });
}

/**
 * alignLines merges the lines' steps into one sorted x column and places
 * each line's values on it: undefined where the line has no point (lines
 * sampled at different steps still draw as lines), null for a gap.
 */
export function alignLines(lines: readonly Line[], opts: PlotOptions): PlotData {
  const steps = new Set<number>();
  for (const line of lines) {
    for (const [step] of line.points) {
      steps.add(step);
    }
  }
  const xs = [...steps].sort((a, b) => a - b);
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const columns = lines.map((line) => {
    const col: (number | null | undefined)[] = new Array<number | null | undefined>(xs.length).fill(undefined);
    const own: (number | null)[] = [];
    const at: number[] = [];
    for (const [step, raw] of line.points) {
      const v = toNumber(raw);
      const shown = v === null || !Number.isFinite(v) || (opts.log && v <= 0) ? null : v;
      own.push(shown);
      at.push(index.get(step) ?? 0);
    }
    const values = smooth(own, opts.smoothing);
    at.forEach((i, k) => {
      col[i] = values[k] ?? null;
    });
    return col;
  });
  return [xs, ...columns];
}

/** nearestIndex finds the index of the x closest to `x` in a sorted column (keyboard cursor, windows). */
export function nearestIndex(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  if (hi < 0) {
    return -1;
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] ?? 0) < x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo > 0 && Math.abs((xs[lo - 1] ?? 0) - x) <= Math.abs((xs[lo] ?? 0) - x)) {
    return lo - 1;
  }
  return lo;
}

/** Window is a step range to request, or null for the whole series. */
export type StepWindow = { from: number; to: number } | null;

/** windowFromScale turns a zoomed x scale into the whole steps to ask the server for. */
export function windowFromScale(min: number, max: number): StepWindow {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) {
    return null;
  }
  return { from: Math.max(0, Math.floor(min)), to: Math.max(0, Math.ceil(max)) };
}

/**
 * joinOnStep plots one series against another of the same run: each point
 * of `ys` takes as x the value `xs` has at the same step. Downsampled
 * windows need not hold the same steps, so a step `xs` lacks takes the value
 * on the straight line between its neighbours (an x that is NaN or infinite
 * counts as missing); a step before or after every step of `xs` is left out
 * and counted. The points come sorted by
 * x (ties in step order), with their steps kept.
 */
export function joinOnStep(
  label: string,
  ys: readonly Point[],
  xs: readonly Point[],
): { line: Line; unmatched: number } {
  const known: [number, number][] = [];
  for (const [step, raw] of xs) {
    const v = toNumber(raw);
    if (v !== null && Number.isFinite(v)) {
      known.push([step, v]);
    }
  }
  known.sort((a, b) => a[0] - b[0]);
  const steps = known.map(([s]) => s);
  const xAt = (step: number): number | null => {
    const i = nearestIndex(steps, step);
    const here = known[i];
    if (here === undefined) {
      return null;
    }
    if (here[0] === step) {
      return here[1];
    }
    const [lo, hi] = here[0] < step ? [here, known[i + 1]] : [known[i - 1], here];
    if (lo === undefined || hi === undefined) {
      return null;
    }
    return lo[1] + ((hi[1] - lo[1]) * (step - lo[0])) / (hi[0] - lo[0]);
  };
  const joined: { x: number; value: Point[1]; step: number }[] = [];
  let unmatched = 0;
  for (const [step, value] of ys) {
    const x = xAt(step);
    if (x === null) {
      unmatched++;
      continue;
    }
    joined.push({ x, value, step });
  }
  joined.sort((a, b) => a.x - b.x || a.step - b.step);
  return {
    line: { label, points: joined.map((j) => [j.x, j.value]), steps: joined.map((j) => j.step) },
    unmatched,
  };
}

/**
 * forLogAxes prepares lines for log axes. A log x axis cannot place x ≤ 0:
 * those points are left out. A log y axis cannot place values ≤ 0: they
 * stay as gaps (alignLines makes them null). Both are counted, so the panel
 * can say what it does not show.
 */
export function forLogAxes(
  lines: readonly Line[],
  logX: boolean,
  logY: boolean,
): { lines: Line[]; leftOutX: number; leftOutY: number } {
  let leftOutX = 0;
  let leftOutY = 0;
  const out = lines.map((line) => {
    const points: Point[] = [];
    const steps: number[] = [];
    line.points.forEach((p, k) => {
      if (logX && !(p[0] > 0)) {
        leftOutX++;
        return;
      }
      const v = toNumber(p[1]);
      if (logY && v !== null && Number.isFinite(v) && v <= 0) {
        leftOutY++;
      }
      points.push(p);
      steps.push(line.steps?.[k] ?? p[0]);
    });
    if (!logX) {
      return { ...line };
    }
    return line.steps === undefined ? { label: line.label, points } : { label: line.label, points, steps };
  });
  return { lines: out, leftOutX, leftOutY };
}
