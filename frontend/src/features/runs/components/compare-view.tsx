import { Anchor, Button, Card, Group, Loader, Select, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQueries, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { apiFetch } from '@/lib/api-client';

import { runOptions } from '../api/runs';
import { compareIds, compareRows, maxCompared, type CompareRow } from '../compare';
import classes from '../runs.module.css';
import type { Run, RunsPage } from '../types';
import { quoteText } from '../view-state';
import { ReviewBadge, StatusBadge } from './badges';

const SeriesChart = lazy(() => import('./series-chart'));

/**
 * CompareView sets 2–4 runs side by side: params (differences marked, or
 * only the differences), metrics, and a series overlaid with one line per
 * run. The runs are in the URL, so the comparison is shareable.
 */
export function CompareView() {
  const [search, setSearch] = useSearchParams();
  const ids = compareIds(search.get('ids'));
  const results = useQueries({ queries: ids.map((id) => runOptions(id)) });
  const [onlyDiff, setOnlyDiff] = useState(false);
  const runs = results.map((r) => r.data).filter((r): r is Run => r !== undefined);
  const error = results.find((r) => r.error !== null)?.error ?? null;
  const loading = results.some((r) => r.isPending);

  const setIds = (next: string[]) => {
    setSearch(next.length === 0 ? {} : { ids: next.join(',') });
  };

  const params = useMemo(() => compareRows(runs, 'params'), [runs]);
  const metrics = useMemo(() => compareRows(runs, 'metrics'), [runs]);
  const seriesNames = useMemo(() => {
    const names = new Set<string>();
    runs.forEach((r) => { (r.series ?? []).forEach((s) => names.add(s.name)); });
    return [...names].sort();
  }, [runs]);
  const [series, setSeries] = useState<string | null>(null);
  const plotted = series ?? seriesNames[0] ?? null;

  return (
    <Stack gap="lg">
      {error !== null && <ErrorAlert error={error} title="A run could not be loaded" />}
      <Group gap="sm" align="flex-end">
        {ids.length < maxCompared && <AddRun exclude={ids} onAdd={(id) => { setIds([...ids, id]); }} />}
        <Text size="sm" c="dimmed">
          {ids.length < 2 ? 'Choose at least two runs.' : `${String(ids.length)} runs side by side.`}
        </Text>
      </Group>
      {loading && <Loader aria-label="Loading the runs" />}
      {runs.length > 0 && (
        <Card withBorder component="section" aria-labelledby="compared-heading">
          <Title order={2} size="h4" id="compared-heading" mb="sm">
            Runs
          </Title>
          <Table fz="sm" aria-label="Compared runs">
            <Table.Thead>
              <Table.Tr>
                {runs.map((r) => (
                  <Table.Th key={r.id} scope="col">
                    <Anchor component={Link} to={`/runs/${encodeURIComponent(r.id)}`}>
                      {r.name}
                    </Anchor>
                  </Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              <Table.Tr>
                {runs.map((r) => (
                  <Table.Td key={r.id}>
                    <Group gap={4}>
                      <Text size="sm">{r.project}</Text>
                      <StatusBadge status={r.status} />
                      <ReviewBadge review={r.review} />
                    </Group>
                  </Table.Td>
                ))}
              </Table.Tr>
              <Table.Tr>
                {runs.map((r) => (
                  <Table.Td key={r.id}>
                    <Button size="compact-xs" variant="subtle" onClick={() => { setIds(ids.filter((i) => i !== r.id)); }}>
                      Remove {r.name}
                    </Button>
                  </Table.Td>
                ))}
              </Table.Tr>
            </Table.Tbody>
          </Table>
        </Card>
      )}
      {runs.length >= 2 && (
        <>
          <Card withBorder component="section" aria-labelledby="cmp-params-heading">
            <Group justify="space-between" mb="sm">
              <Title order={2} size="h4" id="cmp-params-heading">
                Params
              </Title>
              <Switch
                label="Only the differences"
                checked={onlyDiff}
                onChange={(e) => { setOnlyDiff(e.currentTarget.checked); }}
              />
            </Group>
            <CompareTable runs={runs} rows={onlyDiff ? params.filter((p) => p.differs) : params} label="Params" />
          </Card>
          <Card withBorder component="section" aria-labelledby="cmp-metrics-heading">
            <Title order={2} size="h4" id="cmp-metrics-heading" mb="sm">
              Metrics
            </Title>
            <CompareTable runs={runs} rows={metrics} label="Metrics" />
          </Card>
          <Card withBorder component="section" aria-labelledby="cmp-series-heading">
            <Title order={2} size="h4" id="cmp-series-heading" mb="sm">
              Series
            </Title>
            {plotted === null ? (
              <Text size="sm" c="dimmed">
                None of these runs has a series.
              </Text>
            ) : (
              <Stack gap="sm">
                <Select label="Series" data={seriesNames} value={plotted} onChange={setSeries} allowDeselect={false} w={260} />
                <Suspense fallback={<Loader size="sm" aria-label="Loading the chart" />}>
                  <SeriesChart
                    key={plotted}
                    title={`${plotted} per run`}
                    lines={runs.map((r) => ({ runId: r.id, series: plotted, label: r.name }))}
                  />
                </Suspense>
              </Stack>
            )}
          </Card>
        </>
      )}
    </Stack>
  );
}

function CompareTable({ runs, rows, label }: { runs: Run[]; rows: CompareRow[]; label: string }) {
  if (rows.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        Nothing to show.
      </Text>
    );
  }
  return (
    <Table fz="sm" aria-label={label}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Name</Table.Th>
          {runs.map((r) => (
            <Table.Th key={r.id} scope="col">
              {r.name}
            </Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((row) => (
          <Table.Tr key={row.name} className={row.differs ? classes.diff : undefined} data-differs={row.differs}>
            <Table.Th scope="row">
              {row.name}
              {row.differs && <span className={classes.visuallyHidden}> (differs)</span>}
            </Table.Th>
            {row.values.map((v, i) => (
              <Table.Td key={runs[i]?.id ?? i} className={classes.mono}>
                {v}
              </Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** AddRun finds a run by name to add to the comparison. */
function AddRun({ exclude, onAdd }: { exclude: string[]; onAdd: (id: string) => void }) {
  const [term, setTerm] = useState('');
  const [debounced] = useDebouncedValue(term, 250);
  const found = useQuery({
    queryKey: ['runs', 'find', debounced],
    queryFn: ({ signal }) => {
      const params = new URLSearchParams({ limit: '20' });
      if (debounced.trim() !== '') {
        params.set('q', `name ~ ${quoteText(debounced.trim())}`);
      }
      return apiFetch<RunsPage>(`/runs?${params.toString()}`, { signal });
    },
  });
  const options = (found.data?.runs ?? [])
    .filter((r) => !exclude.includes(r.id))
    .map((r) => ({ value: r.id, label: `${r.name} (${r.project})` }));
  return (
    <Select
      label="Add a run"
      placeholder="Type a run name"
      searchable
      searchValue={term}
      onSearchChange={setTerm}
      data={options}
      value={null}
      filter={({ options: o }) => o}
      onChange={(id) => {
        if (id !== null) {
          onAdd(id);
          setTerm('');
        }
      }}
      nothingFoundMessage={found.isFetching ? 'Searching…' : 'No run with that name'}
      w={320}
    />
  );
}
