import { Button, Checkbox, Group, MultiSelect, Stack, Text } from '@mantine/core';
import { useDeferredValue, useMemo, useState } from 'react';

import { useRunKeys } from '../api/runs';
import { knownKeys, type KnownKeys } from '../query-completion';
import classes from '../runs.module.css';
import { summaryFunctions, summaryKey, type ColumnLayout, type LayoutChange } from '../view-state';

/** maxOptions bounds the options drawn at once: typing narrows a long list. */
const maxOptions = 200;

/** summaryItems are the summary columns of each series (a name with a comma cannot be a column). */
function summaryItems(series: readonly string[]): string[] {
  return series.filter((n) => !n.includes(',')).flatMap((n) => summaryFunctions.map((fn) => summaryKey(fn, n)));
}

/** searchPrefix is the name the search text starts: `metrics.lo` and `lo` both ask for `lo`. */
function searchPrefix(search: string): string {
  const s = search.trim();
  for (const head of ['params.', 'metrics.', 'last(', 'min(', 'max(']) {
    if (s.toLowerCase().startsWith(head)) {
      return s.slice(head.length);
    }
  }
  return s;
}

/**
 * ColumnChooser picks the extra columns: any metric or param, or the last,
 * min or max of any series, that the live runs of
 * the project chip's project (or of all projects) have, as the server lists
 * them, merged with those of the loaded runs. When the server's list is cut
 * short, the search text asks it for the names that start with it. Loaded on
 * demand (the runs page's first load does not carry the multi-select), from
 * the Columns button. Under it, every column (fixed or extra) can be shown
 * or hidden, moved up or down and pinned to the left.
 */
export default function ColumnChooser({
  project,
  loaded,
  value,
  onChange,
  layout,
  labels,
  onLayout,
}: {
  project: string | null;
  loaded: Partial<KnownKeys>;
  value: string[];
  onChange: (cols: string[]) => void;
  layout: ColumnLayout;
  labels: Record<string, string>;
  onLayout: (change: LayoutChange) => void;
}) {
  const [search, setSearch] = useState('');
  const prefix = searchPrefix(useDeferredValue(search));
  const all = useRunKeys(project);
  const narrowed = useRunKeys(project, prefix, all.data?.truncated === true && prefix !== '');
  const keys = useMemo(() => knownKeys(all.data, narrowed.data, loaded), [all.data, narrowed.data, loaded]);
  return (
    <Stack gap="sm">
    <MultiSelect
      label="Columns"
      placeholder={value.length === 0 ? 'Add a param or metric' : undefined}
      data={[
        { group: 'Metrics', items: keys.metrics.map((m) => `metrics.${m}`) },
        { group: 'Params', items: keys.params.map((p) => `params.${p}`) },
        { group: 'Series (last, min, max)', items: summaryItems(keys.series) },
      ]}
      value={value}
      onChange={onChange}
      searchValue={search}
      onSearchChange={setSearch}
      limit={maxOptions}
      searchable
      clearable
      w={420}
      maxDropdownHeight={300}
      comboboxProps={{ withinPortal: false }}
      data-autofocus
    />
    <ColumnList layout={layout} labels={labels} onLayout={onLayout} />
    </Stack>
  );
}

/** ColumnList shows, orders and pins the columns; each control names its column. */
function ColumnList({
  layout,
  labels,
  onLayout,
}: {
  layout: ColumnLayout;
  labels: Record<string, string>;
  onLayout: (change: LayoutChange) => void;
}) {
  const pinned = new Set(layout.pins);
  return (
    <div role="group" aria-labelledby="column-list-title">
      <Text id="column-list-title" size="sm" fw={500} mb={4}>
        Show, order and pin
      </Text>
      <ul className={classes.columnList} data-testid="column-list">
        {layout.all.map((key, i) => {
          const label = labels[key] ?? key;
          const isPinned = pinned.has(key);
          const prev = layout.all[i - 1];
          const next = layout.all[i + 1];
          return (
            <li key={key}>
              <Group gap={6} wrap="nowrap">
                <Checkbox
                  className={classes.grow}
                  label={label}
                  aria-label={`Show ${label}`}
                  checked={layout.shown.includes(key)}
                  onChange={(e) => {
                    onLayout({ kind: 'show', key, shown: e.currentTarget.checked });
                  }}
                />
                <Button
                  size="compact-xs"
                  variant="default"
                  aria-label={`Move ${label} up`}
                  disabled={prev === undefined || pinned.has(prev) !== isPinned}
                  onClick={() => {
                    onLayout({ kind: 'move', key, by: -1 });
                  }}
                >
                  ↑
                </Button>
                <Button
                  size="compact-xs"
                  variant="default"
                  aria-label={`Move ${label} down`}
                  disabled={next === undefined || pinned.has(next) !== isPinned}
                  onClick={() => {
                    onLayout({ kind: 'move', key, by: 1 });
                  }}
                >
                  ↓
                </Button>
                <Button
                  size="compact-xs"
                  variant={isPinned ? 'light' : 'default'}
                  aria-label={`Pin ${label}`}
                  aria-pressed={isPinned}
                  onClick={() => {
                    onLayout({ kind: 'pin', key, pinned: !isPinned });
                  }}
                >
                  Pin
                </Button>
              </Group>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
