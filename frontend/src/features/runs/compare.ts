/**
 * Lining up runs for the compare view: which runs (up to 100, from the URL),
 * the points each may ask for, a colour per run, and what to group them by.
 */
import { formatNumber, formatValue, paramAt } from './format';
import { paramPaths } from './query-completion';
import type { Run } from './types';

import { maxCompared } from './compare-link';

export { compareHref, maxCompared } from './compare-link';

/** compareIds reads the runs to compare from the URL: distinct, at most maxCompared. */
export function compareIds(raw: string | null): string[] {
  return [...new Set((raw ?? '').split(',').filter((s) => s !== ''))].slice(0, maxCompared);
}

/**
 * compareBudget is the points one chart of compare asks for in all: the
 * runs share it, so 100 runs draw no more than a few runs would.
 */
export const compareBudget = 100_000;

/**
 * pointsPerRun is the max_points each of n runs asks for: an equal share of
 * compareBudget (100 runs: 1,000 each), never more than the chart's width
 * can show (plotWidthPoints, four per pixel column for M4), never fewer
 * than 4 (M4's one window).
 */
export function pointsPerRun(runs: number, plotWidthPoints: number): number {
  const share = Math.floor(compareBudget / Math.max(1, runs));
  return Math.max(4, Math.min(share, plotWidthPoints));
}

/**
 * runPalette is the colours of runs' lines: twelve hues, each at least 3:1
 * against the page in both colour schemes (WCAG 1.4.11, graphics), so
 * a line is as visible in dark as in light.
 */
export const runPalette = [
  '#1c7ed6',
  '#e8590c',
  '#2f9e44',
  '#be4bdb',
  '#f03e3e',
  '#1098ad',
  '#845ef7',
  '#e64980',
  '#099268',
  '#d97400',
  '#5c7cfa',
  '#a38000',
] as const;

/** hash is FNV-1a over a string's UTF-16 units: small, fast and well spread for ids. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * runColor is a run's colour, a function of its id alone: the same in every
 * chart, legend and table, whatever else is compared beside it.
 */
export function runColor(id: string): string {
  return runPalette[hash(id) % runPalette.length] ?? runPalette[0];
}

/**
 * groupColor is the colour of the k-th group (in label order): groups are
 * few, and unlike runs they must not share a colour by chance.
 */
export function groupColor(k: number): string {
  return runPalette[k % runPalette.length] ?? runPalette[0];
}

/** Band is what the band around a group's mean shows: ± one standard deviation, or min to max. */
export type Band = 'std' | 'minmax';

/** CompareState is what compare's URL says: `?ids=a,b&s=loss&group=params.opt&band=minmax`. */
export interface CompareState {
  ids: string[];
  /** series is the series plotted, or null for the first. */
  series: string | null;
  /** group is `params.<path>`, `tags` or `tag:<name>`, or null: one line per run. */
  group: string | null;
  band: Band;
}

/** parseCompareState reads compare's URL; anything unknown reads as the default. */
export function parseCompareState(params: URLSearchParams): CompareState {
  const s = params.get('s');
  const g = params.get('group');
  return {
    ids: compareIds(params.get('ids')),
    series: s === null || s === '' ? null : s,
    group: g === null || g === '' ? null : g,
    band: params.get('band') === 'minmax' ? 'minmax' : 'std',
  };
}

/** formatCompareState writes compare's URL; defaults are left out. */
export function formatCompareState(state: CompareState): URLSearchParams {
  const out = new URLSearchParams();
  if (state.ids.length > 0) {
    out.set('ids', state.ids.join(','));
  }
  if (state.series !== null) {
    out.set('s', state.series);
  }
  if (state.group !== null) {
    out.set('group', state.group);
    if (state.band !== 'std') {
      out.set('band', state.band);
    }
  }
  return out;
}

/** GroupOption is one choice of the group-by select. */
export interface GroupOption {
  value: string;
  label: string;
}

/**
 * groupOptions lists what the runs can be grouped by: each param path any
 * of them has, their tag sets, and each tag (with it or without it).
 */
export function groupOptions(runs: readonly Run[]): GroupOption[] {
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const r of runs) {
    paramPaths(r.params, '', 0, params);
    r.tags.forEach((t) => tags.add(t));
  }
  return [
    ...[...params].sort().map((p) => ({ value: `params.${p}`, label: `params.${p}` })),
    ...(tags.size > 0 ? [{ value: 'tags', label: 'tags (the set of tags)' }] : []),
    ...[...tags].sort().map((t) => ({ value: `tag:${t}`, label: `tag ${t} (with or without)` })),
  ];
}

/** noValue is the group of runs that lack the param grouped by. */
export const noValueGroup = '(none)';

/** groupLabel is the group a run falls in: the value it has for `group`, as text. */
export function groupLabel(run: Run, group: string): string {
  if (group.startsWith('params.')) {
    const v = paramAt(run.params, group.slice('params.'.length));
    return v === undefined ? noValueGroup : formatValue(v);
  }
  if (group === 'tags') {
    const tags = [...run.tags].sort();
    return tags.length === 0 ? noValueGroup : tags.join(', ');
  }
  if (group.startsWith('tag:')) {
    const tag = group.slice('tag:'.length);
    return run.tags.includes(tag) ? `with ${tag}` : `without ${tag}`;
  }
  return noValueGroup;
}

/** RunGroup is the runs with one value of the grouped-by name. */
export interface RunGroup {
  label: string;
  runIds: string[];
}

/** groupRuns splits runs by groupLabel, the groups in label order. */
export function groupRuns(runs: readonly Run[], group: string): RunGroup[] {
  const m = new Map<string, string[]>();
  for (const r of runs) {
    const label = groupLabel(r, group);
    m.set(label, [...(m.get(label) ?? []), r.id]);
  }
  return [...m.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([label, runIds]) => ({ label, runIds }));
}

/** Row is one param or metric across the compared runs, and whether they differ. */
export interface CompareRow {
  name: string;
  values: string[];
  differs: boolean;
}

/** compareRows lines up the params (or metrics) of runs; a missing value reads as empty. */
export function compareRows(runs: Run[], kind: 'params' | 'metrics'): CompareRow[] {
  const names = new Set<string>();
  for (const r of runs) {
    if (kind === 'params') {
      paramPaths(r.params, '', 0, names);
    } else {
      Object.keys(r.metrics).forEach((m) => names.add(m));
    }
  }
  return [...names].sort().map((name) => {
    const values = runs.map((r) =>
      kind === 'params' ? formatValue(paramAt(r.params, name)) : formatNumber(r.metrics[name]),
    );
    return { name, values, differs: values.some((v) => v !== values[0]) };
  });
}
