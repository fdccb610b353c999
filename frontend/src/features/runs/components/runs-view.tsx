import {
  Button,
  Chip,
  Group,
  Menu,
  Loader,
  Popover,
  Select,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { usePermissions } from '@/lib/authorization';

import { isLive, liveIntervalMs, useProjects, useRunKeys, useRunsList } from '../api/runs';
import { columnFor } from '../columns';
import { compareHref, maxCompared } from '../compare-link';
import { runPath } from '../links';
import { knownKeys, paramPaths, type CompletionSource } from '../query-completion';
import { queryProblem } from '../query-problem';
import { useSavedViews } from '../saved-views';
import { keepSweep, sweepOpen, toggleSweep } from '../sweep-url';
import { reviewLabels, runStatuses, type Run } from '../types';
import {
  changeLayout,
  columnLayout,
  listRequest,
  nextSort,
  parseView,
  reviewFilters,
  viewSearch,
  type ListRequest,
  type ViewState,
} from '../view-state';
import { QueryBar } from './query-bar';
import { RunsTable } from './runs-table';

const ColumnChooser = lazy(() => import('./column-chooser'));
const FirstRun = lazy(() => import('./first-run'));
// Viewers never review: the bulk form is a chunk of its own (the first page's weight).
const BulkReview = lazy(() => import('./bulk-review').then((m) => ({ default: m.BulkReview })));
// The sweep view (parallel coordinates, scatter) is its own chunk, loaded when opened.
const SweepPanel = lazy(() => import('./sweep-panel'));

/**
 * RunsView is the runs table with its query bar, filter chips, column chooser,
 * saved views and selection. Everything that defines the view is in the URL.
 */
export function RunsView() {
  const [search, setSearch] = useSearchParams();
  const view = useMemo(() => parseView(search), [search]);
  const viewQuery = viewSearch(view).toString();
  const request = listRequest(view);
  const list = useRunsList(request);
  const projects = useProjects();
  const navigate = useNavigate();
  const { can } = usePermissions();
  const canReview = can('runs:review');
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [widths, setWidths] = useState<Record<string, number>>({});

  const runs = useMemo(() => list.data?.pages.flatMap((p) => p.runs) ?? [], [list.data]);
  const first = list.data?.pages[0];

  const sweep = sweepOpen(search);
  const setView = (next: Partial<ViewState>) => {
    setSearch(keepSweep(viewSearch({ ...view, ...next }), search));
  };

  // Completions and the column chooser know the names the server lists for
  // the project chip's project (or all), and those of the first five loaded
  // pages (500 runs; newer than the server's cached list, maybe).
  const [p0, p1, p2, p3, p4] = list.data?.pages ?? [];
  const loaded = useMemo(() => {
    const params = new Set<string>();
    const metrics = new Set<string>();
    for (const r of [p0, p1, p2, p3, p4].flatMap((p) => p?.runs ?? [])) {
      paramPaths(r.params, '', 0, params);
      Object.keys(r.metrics).forEach((m) => metrics.add(m));
    }
    return { params: [...params], metrics: [...metrics] };
  }, [p0, p1, p2, p3, p4]);
  const serverKeys = useRunKeys(view.project);
  // A lab with more names than the server lists at once: the name being
  // typed asks for those that start with it (after a pause in typing).
  const [typedName, setTypedName] = useState<string | null>(null);
  const [prefix, setPrefix] = useState('');
  useEffect(() => {
    const t = setTimeout(() => { setPrefix(typedName ?? ''); }, 200);
    return () => { clearTimeout(t); };
  }, [typedName]);
  const narrowedKeys = useRunKeys(view.project, prefix, serverKeys.data?.truncated === true && prefix !== '');
  const source: CompletionSource = useMemo(
    () => ({
      ...knownKeys(serverKeys.data, narrowedKeys.data, loaded),
      projects: (projects.data ?? []).map((p) => p.name),
    }),
    [serverKeys.data, narrowedKeys.data, loaded, projects.data],
  );

  const layout = useMemo(
    () => columnLayout({ cols: view.cols, hide: view.hide, order: view.order, pin: view.pin }),
    [view.cols, view.hide, view.order, view.pin],
  );
  const columns = useMemo(() => layout.shown.map(columnFor), [layout]);
  const problem = queryProblem(list.error, request.typedStart, view.q);
  const selectedIds = runs.filter((r) => selected.has(r.id)).map((r) => r.id);
  // A lab without projects has no runs at all (a project exists once a run names it).
  const freshInstall = projects.data?.length === 0 && first?.total === 0;

  return (
    <Stack gap="sm">
      <QueryBar
        value={view.q}
        onSubmit={(q) => { setView({ q }); }}
        source={source}
        problem={problem}
        warnings={problem === null ? (first?.warnings ?? []) : []}
        onNamePrefix={setTypedName}
      />
      <Group gap="md" align="flex-end" wrap="wrap">
        <Select
          label="Project"
          placeholder="All projects"
          data={(projects.data ?? []).map((p) => p.name)}
          value={view.project}
          onChange={(project) => { setView({ project }); }}
          clearable
          searchable
          w={220}
        />
        <Chip.Group multiple value={view.status} onChange={(v) => { setView({ status: v }); }}>
          <Group gap={6} role="group" aria-label="Status">
            <Text size="sm" fw={500}>
              Status
            </Text>
            {runStatuses.map((s) => (
              <Chip key={s} value={s} size="xs">
                {s}
              </Chip>
            ))}
          </Group>
        </Chip.Group>
        <Chip.Group multiple value={view.review} onChange={(v) => { setView({ review: v }); }}>
          <Group gap={6} role="group" aria-label="Review">
            <Text size="sm" fw={500}>
              Review
            </Text>
            {reviewFilters.map((s) => (
              <Chip key={s} value={s} size="xs">
                {s === 'outdated' ? 'outdated' : reviewLabels[s]}
              </Chip>
            ))}
          </Group>
        </Chip.Group>
      </Group>
      <Group gap="md" align="flex-end" justify="space-between">
        <Popover position="bottom-start" withinPortal={false} trapFocus shadow="md">
          <Popover.Target>
            <Button variant="default">Columns{view.cols.length > 0 ? ` (+${String(view.cols.length)})` : ''}</Button>
          </Popover.Target>
          <Popover.Dropdown>
            <Suspense fallback={<Loader size="sm" aria-label="Loading the column chooser" />}>
              <ColumnChooser
                project={view.project}
                loaded={loaded}
                value={view.cols}
                onChange={(cols) => {
                  setView({ cols });
                }}
                layout={layout}
                labels={Object.fromEntries(layout.all.map((k) => [k, columnFor(k).label]))}
                onLayout={(change) => {
                  setView(changeLayout(view, change));
                }}
              />
            </Suspense>
          </Popover.Dropdown>
        </Popover>
        <Button
          variant={view.density === 'compact' ? 'light' : 'default'}
          aria-pressed={view.density === 'compact'}
          onClick={() => {
            setView({ density: view.density === 'compact' ? 'comfortable' : 'compact' });
          }}
        >
          Compact rows
        </Button>
        <Button
          variant={sweep ? 'light' : 'default'}
          aria-pressed={sweep}
          onClick={() => {
            setSearch(toggleSweep(search));
          }}
        >
          Sweep
        </Button>
        <ExportCsv request={request} columns={columns.map((c) => c.key)} />
        <SavedViews current={viewQuery} />
      </Group>
      {sweep && (
        <Suspense fallback={<Loader size="sm" aria-label="Loading the sweep view" />}>
          <SweepPanel view={view} listRequest={(q) => listRequest({ ...view, q })} />
        </Suspense>
      )}
      <Group justify="space-between">
        <Text size="sm" aria-live="polite" data-testid="runs-count">
          {first === undefined
            ? ' '
            : `${first.total_exact ? '' : 'at most '}${first.total.toLocaleString()} ${first.total === 1 ? 'run' : 'runs'}`}
          {isLive(list.data?.pages) ? ` · live, every ${String(liveIntervalMs / 1000)} s` : ''}
          {list.isFetching && first !== undefined ? ' · updating…' : ''}
        </Text>
        {selectedIds.length > 0 && (
          <Group gap="xs">
            <Text size="sm">{selectedIds.length} selected</Text>
            <Button
              size="xs"
              variant="default"
              disabled={selectedIds.length < 2}
              title={`Compare 2 to ${String(maxCompared)} runs (the first ${String(maxCompared)} selected)`}
              onClick={() => void navigate(compareHref(selectedIds))}
            >
              Compare
            </Button>
            <Button size="xs" variant="subtle" onClick={() => { setSelected(new Set()); }}>
              Clear selection
            </Button>
          </Group>
        )}
        {selectedIds.length === 0 && runs.length >= 2 && (
          <Button size="xs" variant="default" onClick={() => void navigate(compareHref(runs.map((r) => r.id)))}>
            Compare the first {Math.min(runs.length, maxCompared)}
          </Button>
        )}
      </Group>
      {canReview && (
        <Suspense fallback={null}>
          <BulkReview ids={selectedIds} onDone={() => { setSelected(new Set()); }} />
        </Suspense>
      )}
      {list.error !== null && problem === null && <ErrorAlert error={list.error} title="The runs could not be loaded" />}
      {freshInstall && (
        <Suspense fallback={<Loader size="sm" aria-label="Loading" />}>
          <FirstRun canMakeTokens={can('runs:write')} />
        </Suspense>
      )}
      <RunsTable
        runs={runs}
        total={first?.total ?? 0}
        columns={columns}
        pinned={layout.pinned.length}
        density={view.density}
        sort={view.sort}
        onSort={(key) => { setView({ sort: nextSort(view.sort, key) }); }}
        widths={widths}
        onResize={(key, w) => { setWidths((old) => ({ ...old, [key]: w })); }}
        selected={selected}
        onToggle={(id) => { setSelected((old) => {
            const next = new Set(old);
            if (!next.delete(id)) {
              next.add(id);
            }
            return next;
          }); }
        }
        onToggleAll={(all) => { setSelected(all ? new Set(runs.map((r) => r.id)) : new Set()); }}
        hasNextPage={list.hasNextPage}
        isFetchingNextPage={list.isFetchingNextPage}
        fetchNextPage={() => void list.fetchNextPage()}
        runHref={(r: Run) => runPath(r.id, viewQuery)}
        onOpen={(r: Run) => void navigate(runPath(r.id, viewQuery))}
        selectable
      />
      <Text size="xs" c="dimmed">
        Tab to the table, then arrows move between runs, Enter opens one and Space selects it.
      </Text>
    </Stack>
  );
}

/**
 * ExportCsv saves every run of the view as CSV with the table's columns
 * (the server streams it; docs/api.md). Its code loads on the first click.
 */
function ExportCsv({ request, columns }: { request: ListRequest; columns: string[] }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const { exportRunsCsv } = await import('../api/export');
      await exportRunsCsv(request, columns);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack gap={4}>
      <Button variant="default" loading={busy} onClick={() => void run()}>
        Export CSV
      </Button>
      {error !== null && <ErrorAlert error={error} title="The export failed" />}
    </Stack>
  );
}

/** SavedViews saves the current view under a name and opens saved ones. */
function SavedViews({ current }: { current: string }) {
  const { views, save, remove } = useSavedViews();
  const [name, setName] = useState('');
  const navigate = useNavigate();
  const list = views.data ?? [];
  return (
    <Stack gap={4}>
      <Group gap="xs" align="flex-end">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const n = name.trim();
            if (n !== '') {
              save.mutate({ name: n, search: current }, { onSuccess: () => { setName(''); } });
            }
          }}
        >
          <Group gap="xs" align="flex-end">
            <TextInput
              label="Save this view as"
              placeholder="sweep-12 review queue"
              value={name}
              onChange={(e) => { setName(e.currentTarget.value); }}
              maxLength={100}
              w={220}
            />
            <Button type="submit" variant="default" disabled={name.trim() === ''} loading={save.isPending}>
              Save view
            </Button>
          </Group>
        </form>
        <Menu position="bottom-end" withinPortal={false}>
          <Menu.Target>
            <Button variant="default" disabled={list.length === 0}>
              Saved views ({list.length})
            </Button>
          </Menu.Target>
          <Menu.Dropdown>
            {list.map((v) => (
              <Menu.Item key={v.name} onClick={() => void navigate(`/runs${v.search === '' ? '' : `?${v.search}`}`)}>
                {v.name}
              </Menu.Item>
            ))}
            <Menu.Divider />
            {list.map((v) => (
              <Menu.Item key={`rm:${v.name}`} color="red" onClick={() => { remove.mutate(v.name); }}>
                Remove “{v.name}”
              </Menu.Item>
            ))}
          </Menu.Dropdown>
        </Menu>
      </Group>
      {save.error !== null && <ErrorAlert error={save.error} title="The view was not saved" />}
      {remove.error !== null && <ErrorAlert error={remove.error} title="The view was not removed" />}
    </Stack>
  );
}
