import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Loader,
  MultiSelect,
  SegmentedControl,
  Select,
  Stack,
  Table,
  TagsInput,
  Text,
  Title,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useInfiniteQuery } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router';

import { ConfirmDialog } from '@/components/confirm-dialog';
import { ErrorAlert } from '@/components/error-alert';
import { InlineFormButtons, TextEditForm } from '@/components/inline-edit-form';
import { usePermissions } from '@/lib/authorization';
import { formatDateTime, formatRelative } from '@/lib/format';
import { useSession } from '@/lib/session/use-session';
import { useLeadingChoice } from '@/lib/use-leading-choice';

import { runsListOptions, useProjects, useRun, useRunMutations } from '../api/runs';
import { seriesGrowth, seriesShownFirst } from '../api/series';
import { formatDuration, formatNumber } from '../format';
import { paramId, parseHash, runPath } from '../links';
import type { StepWindow } from '../plot-data';
import { formatPlotState, parsePlotState, withFlag, type PlotState, type PlotX } from '../plot-state';
import { paramPaths } from '../query-completion';
import { creator } from '../review-text';
import classes from '../runs.module.css';
import type { Run } from '../types';
import { listRequest, parseView } from '../view-state';
import { StatusBadge } from './badges';
import { CommentsThread } from './comments-thread';
import { ParamsTree } from './params-tree';
import { ReviewPanel } from './review-panel';
import { RunFiles } from './run-files';

// The chart's chunk starts loading with this page's, not after the run has
// arrived: the two requests overlap instead of following each other.
const chartModule = import('./series-chart');
const SeriesChart = lazy(() => chartModule);

/** The server's bounds on tags (runs/input.go). */
const maxTags = 50;
const maxTagLength = 100;

/**
 * RunPage is one run: summary, notes, metrics, params, plots, the review
 * panel and the comments. Opened from a view (`?view=`), it walks that
 * view's runs with Previous and Next, so a saved view works as a review queue.
 */
export function RunPage({ id }: { id: string }) {
  const run = useRun(id);
  const { user } = useSession();
  const { can } = usePermissions();
  const location = useLocation();
  const target = parseHash(location.hash);

  useEffect(() => {
    if (target !== null && run.data !== undefined) {
      const el = document.getElementById('param' in target ? paramId(target.param) : 'series');
      el?.scrollIntoView({ block: 'center' });
    }
    // Scroll once per link target, when the run is there.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [location.hash, run.data === undefined]);

  if (run.error !== null) {
    return (
      <Stack>
        <ErrorAlert error={run.error} title="The run could not be loaded" />
        <Anchor component={Link} to="/runs">
          Back to the runs
        </Anchor>
      </Stack>
    );
  }
  if (run.data === undefined) {
    return <Loader aria-label="Loading the run" />;
  }
  const r = run.data;
  return (
    <Stack gap="lg">
      <QueueNav id={id} />
      <RunHeader run={r} />
      {r.failure !== null && (
        <Alert
          color="red"
          variant="light"
          title={r.status === 'cancelled' ? 'Why it was cancelled' : 'Why it failed'}
          data-testid="failure"
        >
          <Text size="sm" className={classes.notes} data-testid="failure-reason">
            {r.failure.reason}
          </Text>
          {r.failure.detail !== undefined && r.failure.detail !== '' && (
            // A traceback keeps its lines and may scroll sideways: keyboard users reach it by Tab.
            <Code block mt="xs" tabIndex={0} role="region" aria-label="Failure detail" className={classes.failureDetail}>
              {r.failure.detail}
            </Code>
          )}
        </Alert>
      )}
      {r.deleted_at !== null && (
        <Alert color="red" variant="light" role="alert" title="This run was deleted" data-testid="deleted-banner">
          Deleted {formatRelative(r.deleted_at)} ({formatDateTime(r.deleted_at)}). It is not in any list;
          an admin can restore it.
        </Alert>
      )}
      <div className={classes.twoColumns}>
        <Card withBorder component="section" aria-labelledby="summary-heading">
          <Title order={2} size="h4" id="summary-heading" mb="sm">
            Summary
          </Title>
          <Summary run={r} />
          <Tags run={r} canEdit={can('runs:write') && r.deleted_at === null} />
        </Card>
        <Card withBorder component="section" aria-labelledby="review-heading">
          <Title order={2} size="h4" id="review-heading" mb="sm">
            Review
          </Title>
          <ReviewPanel run={r} canReview={can('runs:review')} />
        </Card>
      </div>
      <Card withBorder component="section" aria-labelledby="notes-heading">
        <Title order={2} size="h4" id="notes-heading" mb="sm">
          Notes
        </Title>
        <Notes run={r} canEdit={can('runs:review') && r.deleted_at === null} />
      </Card>
      <Card withBorder component="section" aria-labelledby="series-heading" id="series">
        <Title order={2} size="h4" id="series-heading" mb="sm">
          Series
        </Title>
        <SeriesSection run={r} target={target !== null && 'series' in target ? target : null} />
      </Card>
      <div className={classes.twoColumns}>
        <Card withBorder component="section" aria-labelledby="metrics-heading">
          <Title order={2} size="h4" id="metrics-heading" mb="sm">
            Metrics
          </Title>
          <MetricsTable metrics={r.metrics} />
        </Card>
        <Card withBorder component="section" aria-labelledby="params-heading">
          <Title order={2} size="h4" id="params-heading" mb="sm">
            Params
          </Title>
          <ParamsTree params={r.params} highlight={target !== null && 'param' in target ? target.param : null} />
        </Card>
      </div>
      <Card withBorder component="section" aria-labelledby="files-heading">
        <Title order={2} size="h4" id="files-heading" mb="sm">
          Files
        </Title>
        <RunFiles runId={r.id} />
      </Card>
      <Card withBorder component="section" aria-labelledby="comments-heading">
        <Title order={2} size="h4" id="comments-heading" mb="sm">
          Comments
        </Title>
        <CommentsThread
          runId={r.id}
          userId={user?.id ?? ''}
          isAdmin={can('runs:moderate')}
          paramPaths={[...paramPaths(r.params)]}
          seriesNames={(r.series ?? []).map((s) => s.name)}
        />
      </Card>
    </Stack>
  );
}

function RunHeader({ run: r }: { run: Run }) {
  const { can } = usePermissions();
  const m = useRunMutations(r.id);
  const [confirm, setConfirm] = useState(false);
  const isAdmin = can('runs:delete');
  const canReview = can('runs:review');
  const projects = useProjects();
  const isBaseline = projects.data?.find((p) => p.name === r.project)?.baseline_run === r.id;
  return (
    <Group justify="space-between" align="flex-start">
      <div>
        <Title order={1} className={classes.notes}>
          {r.name}
        </Title>
        <Group gap="xs" mt={4}>
          <Text size="sm">
            Project{' '}
            <Anchor component={Link} to={`/runs?project=${encodeURIComponent(r.project)}`}>
              {r.project}
            </Anchor>
          </Text>
          <StatusBadge status={r.status} />
          {isBaseline && (
            <Badge variant="outline" size="sm" radius="sm" data-testid="baseline-badge">
              project baseline
            </Badge>
          )}
          <Anchor component={Link} to={`/compare?ids=${encodeURIComponent(r.id)}`} size="sm">
            Compare with…
          </Anchor>
        </Group>
      </div>
      <Group gap="xs">
        {canReview && r.deleted_at === null && (isBaseline || r.review.state === 'approved') && (
          <Button
            variant="default"
            loading={m.baseline.isPending}
            onClick={() => {
              m.baseline.mutate({ project: r.project, set: !isBaseline });
            }}
          >
            {isBaseline ? 'Clear the project baseline' : 'Make this the project baseline'}
          </Button>
        )}
        {isAdmin &&
          (r.deleted_at === null ? (
            <Button color="red" variant="light" onClick={() => { setConfirm(true); }}>
              Delete run
            </Button>
          ) : (
            <Button onClick={() => { m.restore.mutate(); }} loading={m.restore.isPending}>
              Restore run
            </Button>
          ))}
      </Group>
      {m.restore.error !== null && <ErrorAlert error={m.restore.error} />}
      {m.baseline.error !== null && <ErrorAlert error={m.baseline.error} title="The baseline was not changed" />}
      <ConfirmDialog
        opened={confirm}
        title="Delete this run?"
        confirmLabel="Delete run"
        danger
        pending={m.remove.isPending}
        error={m.remove.error}
        onConfirm={() => { m.remove.mutate(undefined, { onSuccess: () => { setConfirm(false); } }); }}
        onClose={() => { setConfirm(false); }}
      >
        The run leaves every list and view. Its data stay, and an admin can restore it.
      </ConfirmDialog>
    </Group>
  );
}

function Summary({ run: r }: { run: Run }) {
  const rows: [string, string][] = [
    ['Status', r.status],
    ['Created', formatDateTime(r.created_at)],
    ['Started', r.started_at === null ? '—' : formatDateTime(r.started_at)],
    ['Finished', r.finished_at === null ? '—' : formatDateTime(r.finished_at)],
    ['Duration', formatDuration(r.duration_seconds) || '—'],
    ['Last heartbeat', r.heartbeat_at === null ? '—' : formatRelative(r.heartbeat_at)],
    ['Host', r.host || '—'],
    ['Job', r.job_id || '—'],
    ['External id', r.external_id],
    ['Created by', creator(r.created_by)],
  ];
  return (
    <dl className={classes.summary} data-testid="run-summary">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Tags shows a run's tags; those who may change runs edit them (PATCH tags, which replaces them). */
function Tags({ run: r, canEdit }: { run: Run; canEdit: boolean }) {
  const m = useRunMutations(r.id);
  const [editing, setEditing] = useState(false);
  const form = useForm<{ tags: string[] }>({
    initialValues: { tags: r.tags },
    validate: {
      tags: (tags) =>
        tags.length > maxTags
          ? `A run has at most ${String(maxTags)} tags.`
          : tags.some((t) => t.trim() !== t || t === '' || Array.from(t).length > maxTagLength)
            ? `Tags are 1 to ${String(maxTagLength)} characters, without spaces at either end.`
            : null,
    },
  });
  const tags = r.tags;
  if (editing) {
    return (
      <form
        noValidate
        aria-label="Edit tags"
        onSubmit={form.onSubmit((v) => {
          m.tags.mutate(v.tags, { onSuccess: () => { setEditing(false); } });
        })}
      >
        <TagsInput
          mt="sm"
          label="Tags"
          description="Enter or a comma adds a tag."
          maxTags={maxTags}
          splitChars={[',']}
          clearable
          {...form.getInputProps('tags')}
        />
        <InlineFormButtons submitLabel="Save tags" pending={m.tags.isPending} onCancel={() => { setEditing(false); }} />
        {m.tags.error !== null && <ErrorAlert error={m.tags.error} title="The tags were not saved" />}
      </form>
    );
  }
  return (
    <Group gap="xs" mt="sm" align="center" data-testid="run-tags">
      <Text size="sm" fw={500}>
        Tags
      </Text>
      {tags.length === 0 ? (
        <Text size="sm" c="dimmed">
          none
        </Text>
      ) : (
        tags.map((t) => (
          <Badge key={t} variant="outline" radius="sm" size="sm" tt="none">
            {t}
          </Badge>
        ))
      )}
      {canEdit && (
        <Button
          size="compact-xs"
          variant="default"
          onClick={() => {
            form.setValues({ tags });
            form.resetDirty();
            setEditing(true);
          }}
        >
          Edit tags
        </Button>
      )}
    </Group>
  );
}

function Notes({ run: r, canEdit }: { run: Run; canEdit: boolean }) {
  const m = useRunMutations(r.id);
  const [editing, setEditing] = useState(false);
  if (editing) {
    return (
      <>
        <TextEditForm
          label="Notes"
          initial={r.notes}
          rows={3}
          maxLength={65536}
          submitLabel="Save notes"
          pending={m.notes.isPending}
          onSave={(text) => { m.notes.mutate(text, { onSuccess: () => { setEditing(false); } }); }}
          onCancel={() => { setEditing(false); }}
        />
        {m.notes.error !== null && <ErrorAlert error={m.notes.error} title="The notes were not saved" />}
      </>
    );
  }
  return (
    <Stack gap="xs" align="flex-start">
      {r.notes === '' ? (
        <Text size="sm" c="dimmed">
          No notes.
        </Text>
      ) : (
        <Text size="sm" className={classes.notes} data-testid="run-notes">
          {r.notes}
        </Text>
      )}
      {canEdit && (
        <Button size="xs" variant="default" onClick={() => { setEditing(true); }}>
          Edit notes
        </Button>
      )}
    </Stack>
  );
}

function MetricsTable({ metrics }: { metrics: Run['metrics'] }) {
  const names = Object.keys(metrics).sort();
  if (names.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        This run has no metrics.
      </Text>
    );
  }
  return (
    <Table fz="sm" striped aria-label="Metrics">
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Metric</Table.Th>
          <Table.Th scope="col">Value</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {names.map((n) => (
          <Table.Tr key={n}>
            <Table.Td>{n}</Table.Td>
            <Table.Td className={classes.mono} title={String(metrics[n])}>
              {formatNumber(metrics[n])}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** ExportSeries saves the series on the plot as CSV, one line per point (loaded on the first click). */
function ExportSeries({ run, series }: { run: Run; series: string[] }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      const { exportSeriesCsv } = await import('../api/export');
      await exportSeriesCsv(run.id, run.name, series);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Group gap="sm">
      <Button variant="default" size="xs" loading={busy} onClick={() => void save()}>
        Export these series as CSV
      </Button>
      {error !== null && <ErrorAlert error={error} title="The export failed" />}
    </Group>
  );
}

/** seriesKey names a list of plotted series as the URL keeps it (null: the default choice). */
function seriesKey(series: string[] | null): string {
  return series === null ? '' : JSON.stringify([...new Set(series.filter((s) => s !== ''))]);
}

/** The x axis choices of the run page's plot, with another series as `series:<name>`. */
function xChoice(x: PlotX): string {
  return x.kind === 'series' ? `series:${x.name}` : x.kind;
}

function SeriesSection({ run: r, target }: { run: Run; target: { series: string; from: number; to: number } | null }) {
  const all = useMemo(() => (r.series ?? []).map((s) => s.name), [r.series]);
  const [params, setParams] = useSearchParams();
  const state = parsePlotState(params);
  // The panels share one zoom window (their cursors, and so a drag's selection, are
  // synced); a link to another step range starts from that range.
  const targetKey = target === null ? 'all' : `${target.series}:${String(target.from)}`;
  const targetWindow: StepWindow = target === null ? null : { from: target.from, to: target.to };
  const [zoom, setZoom] = useState<{ key: string; win: StepWindow }>({ key: targetKey, win: targetWindow });
  const win = zoom.key === targetKey ? zoom.win : targetWindow;
  // The URL's series that the run has; none when the URL says none (every chip taken off),
  // the default choice when it names none or only series the run lacks.
  const fromUrl = state.series?.filter((s) => all.includes(s)) ?? [];
  const chosen =
    state.series !== null && (state.series.length === 0 || fromUrl.length > 0)
      ? fromUrl
      : target !== null && all.includes(target.series)
        ? [target.series]
        : all.slice(0, seriesShownFirst);
  // A comment's link to a step range shows its series, whatever else is chosen.
  const shown =
    target !== null && all.includes(target.series) && !chosen.includes(target.series)
      ? [target.series, ...chosen]
      : chosen;
  const [picker, pick] = useLeadingChoice(shown, seriesKey(state.series), seriesKey);
  // Plot choices replace the current entry: a log toggle is no step to go back through.
  const update = (next: Partial<PlotState>) => {
    setParams((prev) => formatPlotState(prev, { ...parsePlotState(prev), ...next }), { replace: true });
  };
  if (all.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        This run has no series.
      </Text>
    );
  }
  const growth = seriesGrowth(r);
  const xSeries = state.x.kind === 'series' && all.includes(state.x.name) ? state.x.name : undefined;
  const axis = state.x.kind === 'series' ? 'step' : state.x.kind;
  const common = {
    window: win,
    onWindowChange: (w: StepWindow) => { setZoom({ key: targetKey, win: w }); },
    refreshKey: growth,
    axis,
    ...(xSeries === undefined ? {} : { xSeries }),
  };
  const flags = (names: string[]) => ({
    logY: names.every((s) => state.logY.includes(s)),
    onLogYChange: (on: boolean) => { update({ logY: withFlag(state.logY, names, on) }); },
    logX: names.every((s) => state.logX.includes(s)),
    onLogXChange: (on: boolean) => { update({ logX: withFlag(state.logX, names, on) }); },
  });
  return (
    <Stack gap="sm">
      <Group align="flex-end" gap="md" wrap="wrap">
        <MultiSelect
          label="Series on the plot"
          data={all}
          value={picker}
          onChange={(v) => {
            pick(v);
            update({ series: v });
          }}
          searchable
          maxValues={8}
          w={480}
        />
        <SegmentedControl
          aria-label="Layout"
          data={[
            { value: 'small', label: 'One panel per series' },
            { value: 'overlay', label: 'Overlay' },
          ]}
          value={state.layout}
          onChange={(v) => { update({ layout: v === 'overlay' ? 'overlay' : 'small' }); }}
        />
        <Select
          label="X axis"
          w={220}
          allowDeselect={false}
          data={[
            {
              group: 'Step or time',
              items: [
                { value: 'step', label: 'Step' },
                { value: 'relative', label: 'Relative time' },
                { value: 'wall', label: 'Wall time' },
              ],
            },
            { group: 'Another series (joined on step)', items: all.map((s) => ({ value: `series:${s}`, label: s })) },
          ]}
          value={xChoice(xSeries === undefined && state.x.kind === 'series' ? { kind: 'step' } : state.x)}
          onChange={(v) => {
            const x: PlotX =
              v?.startsWith('series:') === true
                ? { kind: 'series', name: v.slice('series:'.length) }
                : { kind: v === 'wall' || v === 'relative' ? v : 'step' };
            update({ x });
          }}
        />
      </Group>
      {shown.length === 0 && (
        <Text size="sm" c="dimmed">
          No series chosen: pick one above to plot it.
        </Text>
      )}
      {shown.length > 0 && <ExportSeries run={r} series={shown} />}
      {shown.length > 0 && (
        <Suspense fallback={<Loader size="sm" aria-label="Loading the chart" />}>
          {state.layout === 'overlay' ? (
            <SeriesChart
              key={targetKey}
              title={shown.join(', ')}
              lines={shown.map((s) => ({ runId: r.id, series: s, label: s }))}
              {...common}
              {...flags(shown)}
            />
          ) : (
            <div className={classes.plotGrid} data-testid="plot-panels">
              {shown.map((s) => (
                <SeriesChart
                  key={`${s}\u0000${targetKey}`}
                  title={s}
                  lines={[{ runId: r.id, series: s, label: s }]}
                  syncKey={`run-${r.id}`}
                  height={240}
                  {...common}
                  {...flags([s])}
                />
              ))}
            </div>
          )}
        </Suspense>
      )}
      <Table fz="sm" aria-label="Series summaries">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Series</Table.Th>
            <Table.Th scope="col">Points</Table.Th>
            <Table.Th scope="col">Steps</Table.Th>
            <Table.Th scope="col">Min</Table.Th>
            <Table.Th scope="col">Max</Table.Th>
            <Table.Th scope="col">Last</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(r.series ?? []).map((s) => (
            <Table.Tr key={s.name}>
              <Table.Td>{s.name}</Table.Td>
              <Table.Td className={classes.mono}>{s.count.toLocaleString()}</Table.Td>
              <Table.Td className={classes.mono}>
                {s.first_step === null ? '—' : `${String(s.first_step)}–${String(s.last_step)}`}
              </Table.Td>
              <Table.Td className={classes.mono}>{formatNumber(s.min)}</Table.Td>
              <Table.Td className={classes.mono}>{formatNumber(s.max)}</Table.Td>
              <Table.Td className={classes.mono}>{formatNumber(s.last)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

/**
 * QueueNav walks the view the run was opened from. When a verdict takes
 * the run out of the view (a review queue), Next is the run that took its
 * place.
 */
function QueueNav({ id }: { id: string }) {
  const [search] = useSearchParams();
  const viewParam = search.get('view');
  const navigate = useNavigate();
  const view = parseView(new URLSearchParams(viewParam ?? ''));
  const list = useInfiniteQuery({
    ...runsListOptions(listRequest(view)),
    enabled: viewParam !== null,
  });
  const runs = useMemo(() => list.data?.pages.flatMap((p) => p.runs) ?? [], [list.data]);
  const index = runs.findIndex((r) => r.id === id);
  // Where the run was in the view, kept when a verdict takes it out.
  const [lastIndex, setLastIndex] = useState(-1);
  if (index >= 0 && index !== lastIndex) {
    setLastIndex(index);
  }
  const at = index >= 0 ? index : lastIndex;
  const prev = at > 0 ? runs[at - 1] : undefined;
  const next = index >= 0 ? runs[index + 1] : at >= 0 ? runs[at] : undefined;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;
  useEffect(() => {
    if (at >= 0 && at >= runs.length - 2 && hasNextPage && !isFetchingNextPage) {
      void fetchNextPage();
    }
  }, [at, runs.length, hasNextPage, isFetchingNextPage, fetchNextPage]);

  if (viewParam === null) {
    return (
      <Anchor component={Link} to="/runs" size="sm">
        ← All runs
      </Anchor>
    );
  }
  const go = (r: Run | undefined) => {
    if (r !== undefined) {
      void navigate(runPath(r.id, viewParam));
    }
  };
  return (
    <Group justify="space-between" gap="xs" data-testid="queue-nav">
      <Anchor component={Link} to={`/runs${viewParam === '' ? '' : `?${viewParam}`}`} size="sm">
        ← Back to the view
      </Anchor>
      <Group gap="xs">
        <Text size="sm" aria-live="polite">
          {index >= 0 ? `${String(index + 1)} of ${list.data?.pages[0]?.total.toLocaleString() ?? '…'}` : ''}
        </Text>
        <Button size="xs" variant="default" disabled={prev === undefined} onClick={() => { go(prev); }}>
          Previous
        </Button>
        <Button size="xs" variant="default" disabled={next === undefined} onClick={() => { go(next); }}>
          Next
        </Button>
      </Group>
    </Group>
  );
}
