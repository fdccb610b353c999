/** The runs table's columns: the fixed ones and any param or metric. */
import type { ReactNode } from 'react';

import { formatDateTime, formatRelative } from '@/lib/format';

import { ReviewBadge, StatusBadge } from './components/badges';
import { formatDuration, formatNumber, formatValue, paramAt } from './format';
import type { Run } from './types';
import { fieldSortKey, parseSummaryKey } from './view-state';

export interface Column {
  key: string;
  label: string;
  /** sortKey is the server's sort key for this column; absent when it cannot sort by it. */
  sortKey?: string;
  width: number;
  numeric?: boolean;
  render: (run: Run) => ReactNode;
  /** text is the cell's plain text (its title, for cut-off values). */
  text: (run: Run) => string;
}

export const fixedColumns: Column[] = [
  { key: 'name', label: 'Name', sortKey: 'name', width: 240, render: (r) => r.name, text: (r) => r.name },
  { key: 'project', label: 'Project', width: 150, render: (r) => r.project, text: (r) => r.project },
  {
    key: 'status',
    label: 'Status',
    width: 110,
    render: (r) => <StatusBadge status={r.status} />,
    text: (r) => r.status,
  },
  {
    key: 'failure',
    label: 'Failure',
    width: 200,
    render: (r) => r.failure?.reason ?? '',
    text: (r) => r.failure?.reason ?? '',
  },
  {
    key: 'review',
    label: 'Review',
    width: 190,
    render: (r) => <ReviewBadge review={r.review} />,
    text: (r) => r.review.state + (r.review.outdated ? ' (outdated)' : ''),
  },
  {
    key: 'created',
    label: 'Created',
    sortKey: 'created',
    width: 150,
    render: (r) => formatRelative(r.created_at),
    text: (r) => formatDateTime(r.created_at),
  },
  {
    key: 'duration',
    label: 'Duration',
    sortKey: 'duration',
    width: 110,
    numeric: true,
    render: (r) => formatDuration(r.duration_seconds),
    text: (r) => formatDuration(r.duration_seconds),
  },
  {
    key: 'tags',
    label: 'Tags',
    width: 160,
    render: (r) => r.tags.join(', '),
    text: (r) => r.tags.join(', '),
  },
];

/**
 * extraColumn makes the column of `params.<path>`, `metrics.<name>` or a
 * series summary (`last(loss)`: the page carries the summaries of the
 * series such columns name, listRequest's summaries).
 */
export function extraColumn(key: string): Column {
  const summary = parseSummaryKey(key);
  if (summary !== null) {
    const text = (r: Run) => formatNumber(r.series?.find((s) => s.name === summary.series)?.[summary.fn]);
    return { key, label: key, sortKey: key, width: 130, numeric: true, render: text, text };
  }
  if (key.startsWith('metrics.')) {
    const name = key.slice('metrics.'.length);
    const text = (r: Run) => formatNumber(r.metrics[name]);
    return { key, label: key, sortKey: fieldSortKey(key), width: 130, numeric: true, render: text, text };
  }
  const path = key.slice('params.'.length);
  const text = (r: Run) => formatValue(paramAt(r.params, path));
  // The server sorts by numeric param values; text values follow the numbers.
  return { key, label: key, sortKey: fieldSortKey(key), width: 140, render: text, text };
}

/** columnFor makes the column of a key: a fixed one or an extra one. */
export function columnFor(key: string): Column {
  return fixedColumns.find((c) => c.key === key) ?? extraColumn(key);
}
