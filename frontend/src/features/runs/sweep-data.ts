/**
 * The sweep view's axes: each run's value of a param or metric, and where
 * it sits on its axis (0 at the bottom, 1 at the top). Numbers make a
 * linear axis, or a log one when they are all positive and span more than
 * three decades; any text or boolean value makes the axis categorical.
 */
import type { Category, Brush } from './sweep-state';
import { inBrush } from './sweep-state';
import type { Run } from './types';

/** Axis is one key over the loaded runs, ready to draw. */
export interface Axis {
  key: string;
  kind: 'number' | 'category';
  log: boolean;
  /** min and max are the numbers' range (a numeric axis). */
  min: number;
  max: number;
  /** categories are a categorical axis's values, bottom to top. */
  categories: Category[];
  /** pos is each run's place on the axis, 0–1, NaN for a run without a value. */
  pos: Float64Array;
  /** missing is how many runs have no value here. */
  missing: number;
}

/** paramValue reads a dotted param path; a dot in a key is a level too ({"a.b": 1} answers a.b). */
export function paramValue(params: unknown, path: string): unknown {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    return undefined;
  }
  const obj = params as Record<string, unknown>;
  if (path in obj) {
    return obj[path];
  }
  for (let i = path.indexOf('.'); i >= 0; i = path.indexOf('.', i + 1)) {
    const head = path.slice(0, i);
    if (head in obj) {
      const v = paramValue(obj[head], path.slice(i + 1));
      if (v !== undefined) {
        return v;
      }
    }
  }
  return undefined;
}

/** valueOf is a run's value of an axis key: a finite number, a text or a boolean; undefined when it has none. */
export function valueOf(run: Run, key: string): Category | undefined {
  let v: unknown;
  if (key.startsWith('params.')) {
    v = paramValue(run.params, key.slice('params.'.length));
  } else if (key.startsWith('metrics.')) {
    v = run.metrics[key.slice('metrics.'.length)];
    // A metric's NaN and infinities come as text; they have no place on an axis.
    if (typeof v !== 'number') {
      return undefined;
    }
  }
  if (typeof v === 'number') {
    return Number.isFinite(v) ? v : undefined;
  }
  return typeof v === 'string' || typeof v === 'boolean' ? v : undefined;
}

function compareCategories(a: Category, b: Category): number {
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** buildAxis places every run on the axis of key. */
export function buildAxis(runs: readonly Run[], key: string): Axis {
  const values = runs.map((r) => valueOf(r, key));
  const pos = new Float64Array(runs.length).fill(Number.NaN);
  let missing = 0;
  let numeric = true;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v === undefined) {
      missing++;
    } else if (typeof v === 'number') {
      min = Math.min(min, v);
      max = Math.max(max, v);
    } else {
      numeric = false;
    }
  }
  if (!numeric) {
    const categories = [...new Set(values.filter((v) => v !== undefined))].sort(compareCategories);
    const index = new Map(categories.map((c, i) => [c, i]));
    const n = categories.length;
    values.forEach((v, i) => {
      if (v !== undefined) {
        // Categories sit at the middles of equal bands.
        pos[i] = ((index.get(v) ?? 0) + 0.5) / n;
      }
    });
    return { key, kind: 'category', log: false, min: 0, max: 0, categories, pos, missing };
  }
  if (min > max) {
    return { key, kind: 'number', log: false, min: 0, max: 1, categories: [], pos, missing };
  }
  const log = min > 0 && max / min > 1000;
  const axis: Axis = { key, kind: 'number', log, min, max, categories: [], pos, missing };
  values.forEach((v, i) => {
    if (typeof v === 'number') {
      pos[i] = toPos(axis, v);
    }
  });
  return axis;
}

/** toPos places a number on a numeric axis (0–1; a single value sits in the middle). */
export function toPos(axis: Axis, v: number): number {
  if (axis.max === axis.min) {
    return 0.5;
  }
  if (axis.log) {
    return (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min));
  }
  return (v - axis.min) / (axis.max - axis.min);
}

/** fromPos is the number at a place on a numeric axis. */
export function fromPos(axis: Axis, t: number): number {
  if (axis.max === axis.min) {
    return axis.min;
  }
  if (axis.log) {
    const lo = Math.log10(axis.min);
    return 10 ** (lo + t * (Math.log10(axis.max) - lo));
  }
  return axis.min + t * (axis.max - axis.min);
}

/** categoriesBetween are a categorical axis's values whose places lie in [a, b]. */
export function categoriesBetween(axis: Axis, a: number, b: number): Category[] {
  const n = axis.categories.length;
  return axis.categories.filter((_, i) => {
    const t = (i + 0.5) / n;
    return t >= Math.min(a, b) && t <= Math.max(a, b);
  });
}

/** brushMask marks the runs every brush passes (all of them with no brush). */
export function brushMask(runs: readonly Run[], brushes: readonly Brush[]): Uint8Array {
  const mask = new Uint8Array(runs.length).fill(1);
  for (const b of brushes) {
    runs.forEach((r, i) => {
      if (mask[i] === 1 && !inBrush(b, valueOf(r, b.key))) {
        mask[i] = 0;
      }
    });
  }
  return mask;
}

/** formatValue writes an axis value for a label: numbers with four significant digits. */
export function formatValue(v: Category): string {
  if (typeof v !== 'number') {
    return String(v);
  }
  if (v === 0) {
    return '0';
  }
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}
