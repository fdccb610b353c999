/** Lining up 2–4 runs for the compare view. */
import { formatNumber, formatValue, paramAt } from './format';
import { paramPaths } from './query-completion';
import type { Run } from './types';

export const maxCompared = 4;

/** compareIds reads the runs to compare from the URL: distinct, at most four. */
export function compareIds(raw: string | null): string[] {
  return [...new Set((raw ?? '').split(',').filter((s) => s !== ''))].slice(0, maxCompared);
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

