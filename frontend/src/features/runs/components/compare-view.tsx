import {
  Alert,
  Anchor,
  Button,
  Card,
  Group,
  Loader,
  Modal,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useDeferredValue, useEffect, useMemo, useState, type ComponentProps, type ComponentType } from 'react';
import { Link, useSearchParams } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { apiFetch } from '@/lib/api-client';
import { usePermissions } from '@/lib/authorization';
import { useSession } from '@/lib/session/use-session';

import { runsBatchOptions } from '../api/runs';
import { plotMaxPoints, seriesOfRunsOptions } from '../api/series';
import {
  compareRows,
  formatCompareState,
  groupColor,
  groupLabel,
  groupOptions,
  groupRuns,
  maxCompared,
  parseCompareState,
  pointsPerRun,
  runColor,
  type CompareRow,
  type CompareState,
} from '../compare';
import cmp from '../compare.module.css';
import { paramPaths } from '../query-completion';
import classes from '../runs.module.css';
import type { Run, RunsPage } from '../types';
import { quoteText } from '../view-state';
import { ReviewBadge, StatusBadge } from './badges';
import type SeriesChartComponent from './series-chart';
import { CommentsThread } from './comments-thread';

// The chart's chunk starts loading with this page's, not after the runs have
// arrived: the two requests overlap instead of following each other.
// It is taken from the module once loaded rather than through lazy and
// Suspense: React holds back a suspended chart's reveal for up to 300 ms.
const chartModule = import('./series-chart');

type SeriesChartProps = ComponentProps<typeof SeriesChartComponent>;

/** SeriesChart is the chart once its chunk has loaded, a loader before. */
function SeriesChart(props: SeriesChartProps) {
  const [chart, setChart] = useState<{ default: ComponentType<SeriesChartProps> } | null>(null);
  useEffect(() => {
    let live = true;
    chartModule
      .then((m) => {
        if (live) {
          setChart(m);
        }
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  return chart === null ? <Loader size="sm" aria-label="Loading the chart" /> : <chart.default {...props} />;
}

/** noRuns stands for the runs while the lists wait (a stable value). */
const noRuns: Run[] = [];

/** manyRuns is the count above which the side-by-side tables show only the differences at first. */
const manyRuns = 4;

/**
 * CompareView overlays a series of up to 100 runs in one chart (each run in
 * its own colour, a function of its id; the runs share one point budget),
 * or one line per group of runs (by a param or a tag) with a mean ± std or
 * min–max band; lists the runs with their verdicts and comments; and sets
 * their params and metrics side by side. The runs, series, grouping and
 * band are in the URL, so the comparison is shareable.
 */
export function CompareView() {
  const [search, setSearch] = useSearchParams();
  const state = useMemo(() => parseCompareState(search), [search]);
  const { ids } = state;
  // One request for every run (GET /api/runs/batch), and one for their series
  // (the chart's): 200 requests took 2.6–3.5 s before the first chart.
  const batch = useQuery(runsBatchOptions(ids));
  const runs = useMemo(() => batch.data?.runs ?? [], [batch.data]);
  const missing = batch.data?.missing.length ?? 0;
  const { error } = batch;
  const loading = ids.length > 0 && batch.isPending;
  const [onlyDiff, setOnlyDiff] = useState<boolean | null>(null);
  const diffOnly = onlyDiff ?? ids.length > manyRuns;
  const [commentsOf, setCommentsOf] = useState<Run | null>(null);

  const update = (next: Partial<CompareState>) => {
    setSearch(formatCompareState({ ...state, ...next }));
  };
  const setIds = (next: string[]) => { update({ ids: next }); };

  const seriesNames = useMemo(() => {
    const names = new Set<string>();
    runs.forEach((r) => { (r.series ?? []).forEach((s) => names.add(s.name)); });
    return [...names].sort();
  }, [runs]);
  const plotted = state.series !== null && (loading || seriesNames.includes(state.series)) ? state.series : (seriesNames[0] ?? null);
  const options = useMemo(() => groupOptions(runs), [runs]);
  // The series read starts here rather than when the chart has mounted (its
  // chunk is lazy): while the runs load when the URL names the series, else
  // as soon as they are there. The chart finds it in the cache under the same
  // key: the runs in the order the batch answers them, the order asked.
  const early = loading ? state.series : plotted;
  const perRun = pointsPerRun(ids.length, plotMaxPoints(window.innerWidth));
  const asked = useMemo(() => (loading ? ids : runs.map((r) => r.id)), [loading, ids, runs]);
  const charted = early !== null && asked.length >= 2;
  const seriesRead = useQuery({
    ...seriesOfRunsOptions(asked, [early ?? ''], perRun, null, false, ''),
    enabled: charted,
  });
  // The lists and tables of 100 runs take a few hundred milliseconds to
  // render and commit: they wait for the chart's data, and then follow it.
  const listed = useDeferredValue(charted && seriesRead.isPending ? noRuns : runs);
  const params = useMemo(() => compareRows(listed, 'params'), [listed]);
  const metrics = useMemo(() => compareRows(listed, 'metrics'), [listed]);
  const group = state.group !== null && (loading || options.some((o) => o.value === state.group)) ? state.group : null;

  return (
    <Stack gap="lg">
      {error !== null && <ErrorAlert error={error} title="The runs could not be loaded" />}
      {missing > 0 && (
        <Alert color="yellow" title={missing === 1 ? 'A run is not shown' : `${String(missing)} runs are not shown`}>
          {missing === 1 ? 'It does not exist' : 'They do not exist'}, or lie outside the projects you can read.
        </Alert>
      )}
      <Group gap="sm" align="flex-end">
        {ids.length < maxCompared && <AddRun exclude={ids} onAdd={(id) => { setIds([...ids, id]); }} />}
        <Text size="sm" c="dimmed" data-testid="compare-count">
          {ids.length < 2
            ? 'Choose at least two runs, or send them from the runs table.'
            : `${String(ids.length)} runs compared (at most ${String(maxCompared)}).`}
        </Text>
      </Group>
      {loading && <Loader aria-label="Loading the runs" />}
      {!loading && runs.length >= 2 && (
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
              <Group gap="sm" align="flex-end">
                <Select
                  label="Series"
                  data={seriesNames}
                  value={plotted}
                  onChange={(s) => { update({ series: s }); }}
                  allowDeselect={false}
                  searchable
                  w={260}
                />
                <Select
                  label="Group by"
                  placeholder="No grouping: a line per run"
                  data={options}
                  value={group}
                  onChange={(g) => { update({ group: g }); }}
                  clearable
                  searchable
                  w={280}
                />
                {group !== null && (
                  <Stack gap={4}>
                    <Text size="sm" fw={500} id="cmp-band-label">
                      Band
                    </Text>
                    <SegmentedControl
                      aria-labelledby="cmp-band-label"
                      data={[
                        { value: 'std', label: 'Mean ± std' },
                        { value: 'minmax', label: 'Min–max' },
                      ]}
                      value={state.band}
                      onChange={(b) => { update({ band: b === 'minmax' ? 'minmax' : 'std' }); }}
                    />
                  </Stack>
                )}
              </Group>
              <CompareChart runs={runs} series={plotted} group={group} band={state.band} maxPoints={perRun} />
            </Stack>
          )}
        </Card>
      )}
      {/* The lists wait for every run: drawn as each of 100 runs arrives, they would be drawn 100 times. */}
      {!loading && listed.length > 0 && (
        <Card withBorder component="section" aria-labelledby="compared-heading">
          <Title order={2} size="h4" id="compared-heading" mb="sm">
            Runs
          </Title>
          <Table.ScrollContainer minWidth={640}>
            <Table fz="sm" aria-label="Compared runs" className={cmp.sideBySide}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Run</Table.Th>
                  <Table.Th scope="col">Project</Table.Th>
                  <Table.Th scope="col">Status</Table.Th>
                  <Table.Th scope="col">Verdict</Table.Th>
                  {group !== null && <Table.Th scope="col">{group}</Table.Th>}
                  <Table.Th scope="col">
                    <span className={classes.visuallyHidden}>Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {listed.map((r) => (
                  <Table.Tr key={r.id} data-run={r.id}>
                    <Table.Th scope="row">
                      <Group gap={6} wrap="nowrap">
                        <span
                          className={cmp.swatch}
                          style={{ backgroundColor: runColor(r.id) }}
                          data-testid="run-swatch"
                          aria-hidden
                        />
                        <Anchor component={Link} to={`/runs/${encodeURIComponent(r.id)}`}>
                          {r.name}
                        </Anchor>
                      </Group>
                    </Table.Th>
                    <Table.Td>{r.project}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={r.status} />
                    </Table.Td>
                    <Table.Td>
                      <ReviewBadge review={r.review} />
                    </Table.Td>
                    {group !== null && <Table.Td>{groupLabel(r, group)}</Table.Td>}
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Button size="compact-xs" variant="subtle" onClick={() => { setCommentsOf(r); }}>
                          Comments<span className={classes.visuallyHidden}> on {r.name}</span>
                        </Button>
                        <Button
                          size="compact-xs"
                          variant="subtle"
                          onClick={() => { setIds(ids.filter((i) => i !== r.id)); }}
                        >
                          Remove<span className={classes.visuallyHidden}> {r.name}</span>
                        </Button>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      )}
      {!loading && listed.length >= 2 && (
        <>
          <Card withBorder component="section" aria-labelledby="cmp-params-heading">
            <Group justify="space-between" mb="sm">
              <Title order={2} size="h4" id="cmp-params-heading">
                Params
              </Title>
              <Switch
                label="Only the differences"
                checked={diffOnly}
                onChange={(e) => { setOnlyDiff(e.currentTarget.checked); }}
              />
            </Group>
            <CompareTable runs={listed} rows={diffOnly ? params.filter((p) => p.differs) : params} label="Params" />
          </Card>
          <Card withBorder component="section" aria-labelledby="cmp-metrics-heading">
            <Title order={2} size="h4" id="cmp-metrics-heading" mb="sm">
              Metrics
            </Title>
            <CompareTable runs={listed} rows={diffOnly ? metrics.filter((p) => p.differs) : metrics} label="Metrics" />
          </Card>
        </>
      )}
      <Modal
        opened={commentsOf !== null}
        onClose={() => { setCommentsOf(null); }}
        title={commentsOf === null ? '' : `Comments on ${commentsOf.name}`}
        size="lg"
      >
        {commentsOf !== null && <RunComments run={commentsOf} />}
      </Modal>
    </Stack>
  );
}

/** CompareChart draws a series of every run (or of every group of runs) in one chart. */
function CompareChart({
  runs,
  series,
  group,
  band,
  maxPoints,
}: {
  runs: Run[];
  series: string;
  group: string | null;
  band: CompareState['band'];
  /** maxPoints is each run's share of the points budget. */
  maxPoints: number;
}) {
  const lines = useMemo(
    () => runs.map((r) => ({ runId: r.id, series, label: r.name, color: runColor(r.id) })),
    [runs, series],
  );
  const groups = useMemo(
    () =>
      group === null
        ? undefined
        : groupRuns(runs, group).map((g, k) => ({ label: `${group} = ${g.label}`, color: groupColor(k), runIds: g.runIds })),
    [runs, group],
  );
  return (
    <SeriesChart
      key={`${series}|${group ?? ''}`}
      title={group === null ? `${series} per run` : `${series}, mean per ${group}`}
      lines={lines}
      maxPoints={maxPoints}
      {...(groups === undefined ? {} : { groups, band, axis: 'step' as const })}
      height={group === null ? 360 : 320}
    />
  );
}

/** RunComments is a run's comment thread, opened from compare without leaving it. */
function RunComments({ run }: { run: Run }) {
  const { user } = useSession();
  const { can } = usePermissions();
  return (
    <Stack gap="sm">
      <Group gap="xs">
        <Text size="sm">Verdict:</Text>
        <ReviewBadge review={run.review} />
        <Anchor component={Link} to={`/runs/${encodeURIComponent(run.id)}`} size="sm">
          Open the run
        </Anchor>
      </Group>
      <CommentsThread
        runId={run.id}
        userId={user?.id ?? ''}
        isAdmin={can('runs:moderate')}
        paramPaths={[...paramPaths(run.params)]}
        seriesNames={(run.series ?? []).map((s) => s.name)}
      />
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
    <Table.ScrollContainer minWidth={Math.min(200 + runs.length * 140, 200 + 12 * 140)} maxHeight={640}>
      <Table fz="sm" aria-label={label} className={cmp.sideBySide} stickyHeader>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Name</Table.Th>
            {runs.map((r) => (
              <Table.Th key={r.id} scope="col">
                <Group gap={6} wrap="nowrap">
                  <span className={cmp.swatch} style={{ backgroundColor: runColor(r.id) }} aria-hidden />
                  {r.name}
                </Group>
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
    </Table.ScrollContainer>
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
