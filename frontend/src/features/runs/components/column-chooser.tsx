import { MultiSelect } from '@mantine/core';
import { useDeferredValue, useMemo, useState } from 'react';

import { useRunKeys } from '../api/runs';
import { knownKeys, type KnownKeys } from '../query-completion';

/** maxOptions bounds the options drawn at once: typing narrows a long list. */
const maxOptions = 200;

/** searchPrefix is the name the search text starts: `metrics.lo` and `lo` both ask for `lo`. */
function searchPrefix(search: string): string {
  const s = search.trim();
  for (const head of ['params.', 'metrics.']) {
    if (s.toLowerCase().startsWith(head)) {
      return s.slice(head.length);
    }
  }
  return s;
}

/**
 * ColumnChooser picks the extra columns: any metric or param the live runs of
 * the project chip's project (or of all projects) have, as the server lists
 * them, merged with those of the loaded runs. When the server's list is cut
 * short, the search text asks it for the names that start with it. Loaded on
 * demand (the runs page's first load does not carry the multi-select), from
 * the Columns button.
 */
export default function ColumnChooser({
  project,
  loaded,
  value,
  onChange,
}: {
  project: string | null;
  loaded: Partial<KnownKeys>;
  value: string[];
  onChange: (cols: string[]) => void;
}) {
  const [search, setSearch] = useState('');
  const prefix = searchPrefix(useDeferredValue(search));
  const all = useRunKeys(project);
  const narrowed = useRunKeys(project, prefix, all.data?.truncated === true && prefix !== '');
  const keys = useMemo(() => knownKeys(all.data, narrowed.data, loaded), [all.data, narrowed.data, loaded]);
  return (
    <MultiSelect
      label="Columns"
      placeholder={value.length === 0 ? 'Add a param or metric' : undefined}
      data={[
        { group: 'Metrics', items: keys.metrics.map((m) => `metrics.${m}`) },
        { group: 'Params', items: keys.params.map((p) => `params.${p}`) },
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
  );
}
