/**
 * One line per group of runs: the mean of the group's series at each step,
 * with a band (± one standard deviation, or min to max). The runs' windows
 * are downsampled each on its own (M4), so they need not hold the same
 * steps: a run counts at a step between two of its points with the value on
 * the straight line between them, and not at all before its first point or
 * after its last.
 */
import { toNumber } from './format';
import type { Line } from './plot-data';
import type { Point } from './types';

/** GroupBand is what the band shows around the mean. */
export type GroupBand = 'std' | 'minmax';

/** GroupAggregate is a group's mean and band at each step (null: no run of the group there). */
export interface GroupAggregate {
  steps: number[];
  mean: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  /** runs is how many of the group's runs count at each step. */
  runs: number[];
}

/**
 * finitePoints keeps a run's finite values in step order (one per step,
 * the last one given). NaN and ±Inf count as missing: the run's line is
 * drawn straight across them, as a mean must not turn NaN with one run.
 */
function finitePoints(points: readonly Point[]): [number, number][] {
  const byStep = new Map<number, number>();
  for (const [step, raw] of points) {
    const v = toNumber(raw);
    if (v !== null && Number.isFinite(v) && Number.isFinite(step)) {
      byStep.set(step, v);
    }
  }
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]);
}

/** aggregateRuns is the mean and band of runs' series (each a list of points) at the union of their steps. */
export function aggregateRuns(series: readonly (readonly Point[])[], band: GroupBand): GroupAggregate {
  const runs = series.map(finitePoints).filter((pts) => pts.length > 0);
  const stepSet = new Set<number>();
  runs.forEach((pts) => { pts.forEach(([s]) => stepSet.add(s)); });
  const steps = [...stepSet].sort((a, b) => a - b);
  const out: GroupAggregate = { steps, mean: [], lower: [], upper: [], runs: [] };
  // One cursor per run: the index of its first point at or after the step.
  const at = runs.map(() => 0);
  for (const step of steps) {
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    let min = Infinity;
    let max = -Infinity;
    runs.forEach((pts, r) => {
      let k = at[r] ?? 0;
      while (k < pts.length && (pts[k]?.[0] ?? Infinity) < step) {
        k++;
      }
      at[r] = k;
      const next = pts[k];
      if (next === undefined) {
        return; // after the run's last point
      }
      let v: number;
      if (next[0] === step) {
        v = next[1];
      } else {
        const prev = pts[k - 1];
        if (prev === undefined) {
          return; // before the run's first point
        }
        v = prev[1] + ((next[1] - prev[1]) * (step - prev[0])) / (next[0] - prev[0]);
      }
      n++;
      sum += v;
      sumSq += v * v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    });
    out.runs.push(n);
    if (n === 0) {
      out.mean.push(null);
      out.lower.push(null);
      out.upper.push(null);
      continue;
    }
    const mean = sum / n;
    out.mean.push(mean);
    if (band === 'minmax') {
      out.lower.push(min);
      out.upper.push(max);
    } else {
      // The population deviation (a group of one has none); never below 0 from rounding.
      const sd = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
      out.lower.push(mean - sd);
      out.upper.push(mean + sd);
    }
  }
  return out;
}

/** bandLabels names a group's band edges in the legend. */
export function bandLabels(label: string, band: GroupBand): [string, string] {
  return band === 'std' ? [`${label} − std`, `${label} + std`] : [`${label} min`, `${label} max`];
}

/**
 * groupLines turns a group's aggregate into the three lines a chart draws:
 * the mean (labelled with the group), and the lower and upper band edges.
 */
export function groupLines(label: string, agg: GroupAggregate, band: GroupBand): [Line, Line, Line] {
  const pick = (col: (number | null)[]): Point[] => {
    const pts: Point[] = [];
    agg.steps.forEach((s, i) => {
      const v = col[i];
      if (v !== null && v !== undefined) {
        pts.push([s, v]);
      }
    });
    return pts;
  };
  const [lo, hi] = bandLabels(label, band);
  return [
    { label, points: pick(agg.mean) },
    { label: lo, points: pick(agg.lower) },
    { label: hi, points: pick(agg.upper) },
  ];
}
