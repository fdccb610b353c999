import {
  Button,
  Chip,
  Group,
  MultiSelect,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  useComputedColorScheme,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useElementSize } from '@mantine/hooks';
import { useEffect, useMemo, useRef, type PointerEvent } from 'react';
import { useSearchParams } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';

import { useRunKeys } from '../api/runs';
import { sweepMaxRuns, useSweepRuns } from '../api/sweep';
import classes from '../sweep.module.css';
import { brushMask, buildAxis, categoriesBetween, formatValue, fromPos, toPos, type Axis } from '../sweep-data';
import {
  baseQuery,
  combineQuery,
  maxAxes,
  parseSweep,
  roundEdge,
  setBrush,
  writeSweep,
  type Brush,
  type SweepState,
} from '../sweep-state';
import type { Run } from '../types';
import type { ListRequest, ViewState } from '../view-state';
import { drawFaded, drawLines, drawScatter, layoutAxes, palettes, prepare, tOf, type Layout, type Palette } from './sweep-canvas';

const linesHeight = 340;
const scatterHeight = 300;

/** defaultAxes: up to four params and the first metric, until the person picks axes. */
function defaultAxes(params: readonly string[], metrics: readonly string[]): string[] {
  const metric = metrics.find((m) => /loss/i.test(m)) ?? metrics[0];
  return [...params.slice(0, 4).map((p) => `params.${p}`), ...(metric === undefined ? [] : [`metrics.${metric}`])];
}

/** brushPlace is where a brush sits on its axis (0–1), for drawing. */
function brushPlace(axis: Axis, brush: Brush | undefined): [number, number] | null {
  if (brush === undefined) {
    return null;
  }
  if ('values' in brush) {
    const n = axis.categories.length;
    const idx = brush.values.map((v) => axis.categories.indexOf(v)).filter((i) => i >= 0);
    if (idx.length === 0 || n === 0) {
      return null;
    }
    return [Math.min(...idx) / n, (Math.max(...idx) + 1) / n];
  }
  if (axis.kind !== 'number') {
    return null;
  }
  const clamp = (t: number) => Math.min(1, Math.max(0, t));
  const lo = axis.log && brush.lo <= 0 ? 0 : clamp(toPos(axis, brush.lo));
  return [lo, clamp(toPos(axis, brush.hi))];
}

/** brushFromDrag turns a drag between two places of an axis into a brush (null: nothing selected). */
function brushFromDrag(axis: Axis, a: number, b: number): Brush | null {
  if (axis.kind === 'category') {
    const values = categoriesBetween(axis, a, b);
    return values.length === 0 ? null : { key: axis.key, values };
  }
  const lo = fromPos(axis, Math.min(a, b));
  const hi = fromPos(axis, Math.max(a, b));
  const span = axis.max - axis.min;
  return {
    key: axis.key,
    lo: roundEdge(lo, axis.log ? Math.abs(lo) : span, false),
    hi: roundEdge(hi, axis.log ? Math.abs(hi) : span, true),
  };
}

/**
 * SweepPanel shows the runs of the view (its query without the brushes,
 * its chips and project) as parallel coordinates and a scatter, drawn on
 * canvas, with the axes and the brushes in the URL. A brush (dragged on an
 * axis, or typed in the axes table below the plot) becomes conditions at
 * the end of the query, so the table under the panel shows the runs it
 * selects. Loaded on demand.
 */
export default function SweepPanel({
  view,
  listRequest,
}: {
  view: ViewState;
  /** listRequest is the list request of the view with another query (the chips join it). */
  listRequest: (q: string) => ListRequest;
}) {
  const [search, setSearch] = useSearchParams();
  const sweep = useMemo(() => parseSweep(search), [search]);
  const base = baseQuery(view.q, sweep.brushes);
  // A query edited since the brushes were set: they no longer apply.
  const brushes = useMemo(() => (base === null ? [] : sweep.brushes), [base, sweep.brushes]);
  const baseQ = base ?? view.q;
  // Stale brushes leave the URL (replacing the entry: the query's change made the history step).
  const stale = base === null && sweep.brushes.length > 0;
  useEffect(() => {
    if (stale) {
      setSearch(
        (old) => {
          const out = new URLSearchParams(old);
          out.delete('brush');
          return out;
        },
        { replace: true },
      );
    }
  }, [stale, setSearch]);
  const request = listRequest(baseQ);
  const data = useSweepRuns(request, true);
  const keys = useRunKeys(view.project);
  const runs = useMemo(() => data.data?.pages.flatMap((p) => p.runs) ?? [], [data.data]);
  const first = data.data?.pages[0];
  const total = first?.total ?? 0;
  const loading = data.isFetching || data.hasNextPage;

  const params = keys.data?.params ?? [];
  const metrics = keys.data?.metrics ?? [];
  const axisKeys = sweep.axes.length > 0 ? sweep.axes : defaultAxes(params, metrics);
  const axisList = axisKeys.join(',');
  const axes = useMemo(() => axisList.split(',').filter((k) => k !== '').map((k) => buildAxis(runs, k)), [runs, axisList]);
  const xKey = sweep.x ?? axisKeys.find((k) => k.startsWith('params.')) ?? null;
  const yKey = sweep.y ?? [...axisKeys].reverse().find((k) => k.startsWith('metrics.')) ?? null;
  const xAxis = useMemo(() => (xKey === null ? null : buildAxis(runs, xKey)), [runs, xKey]);
  const yAxis = useMemo(() => (yKey === null ? null : buildAxis(runs, yKey)), [runs, yKey]);
  const mask = useMemo(() => brushMask(runs, brushes), [runs, brushes]);
  const selected = useMemo(() => mask.reduce((n, m) => n + m, 0), [mask]);

  const update = (next: Partial<SweepState>) => {
    const state: SweepState = { ...sweep, brushes, ...next };
    const out = writeSweep(search, state);
    const q = combineQuery(baseQ, state.brushes);
    if (q === '') {
      out.delete('q');
    } else {
      out.set('q', q);
    }
    setSearch(out);
  };
  const brushAxis = (key: string, brush: Brush | null) => {
    update({ brushes: setBrush(brushes, key, brush) });
  };

  const options = [
    { group: 'Params', items: params.map((p) => `params.${p}`) },
    { group: 'Metrics', items: metrics.map((m) => `metrics.${m}`) },
  ];
  const keyOptions = (prefix: string) => [
    ...new Set([...axisKeys.filter((k) => k.startsWith(prefix)), ...options.flatMap((o) => o.items).filter((k) => k.startsWith(prefix))]),
  ];
  const target = Math.min(total, sweepMaxRuns);

  return (
    <Stack gap="sm" className={classes.sweep} data-testid="sweep-panel">
      <Title order={2} size="h4">
        Sweep
      </Title>
      <Group gap="md" align="flex-end" wrap="wrap">
        <MultiSelect
          label="Parallel coordinates axes"
          description="Params, then a metric (the last axis colours the lines)"
          data={options}
          value={axisKeys}
          onChange={(v) => {
            update({ axes: v, brushes: brushes.filter((b) => v.includes(b.key)) });
          }}
          searchable
          limit={100}
          maxValues={maxAxes}
          className={classes.wide}
        />
        <Select
          label="Scatter x"
          data={keyOptions('')}
          value={xKey}
          onChange={(v) => {
            update({ x: v });
          }}
          searchable
          limit={100}
          w={220}
        />
        <Select
          label="Scatter y"
          data={keyOptions('')}
          value={yKey}
          onChange={(v) => {
            update({ y: v });
          }}
          searchable
          limit={100}
          w={220}
        />
      </Group>
      <Stack gap={4}>
        <Text size="sm" aria-live="polite" data-testid="sweep-progress">
          {first === undefined
            ? 'Loading the runs…'
            : `${loading ? 'Loaded' : 'Drawn:'} ${runs.length.toLocaleString()} of ${target.toLocaleString()} ${target === 1 ? 'run' : 'runs'}${
                brushes.length > 0 ? `; ${selected.toLocaleString()} within the brushes` : ''
              }`}
        </Text>
        {loading && target > 0 && (
          // A native bar: Mantine's Progress is the password meter's, and sharing it would move it to the first page.
          <progress className={classes.sweepProgress} max={target} value={runs.length} aria-label="Runs loaded for the sweep" />
        )}
        {total > sweepMaxRuns && (
          <Text size="sm" data-testid="sweep-too-many">
            This view has {total.toLocaleString()} runs: the sweep draws the first {sweepMaxRuns.toLocaleString()} in the
            view’s order. Narrow the query or the chips to draw the others.
          </Text>
        )}
      </Stack>
      {data.error !== null && <ErrorAlert error={data.error} title="The sweep’s runs could not be loaded" />}
      {axes.length === 0 ? (
        <Text size="sm">Pick params and a metric as axes.</Text>
      ) : (
        <>
          <ParallelCoordinates
            axes={axes}
            runs={runs}
            brushes={brushes}
            mask={mask}
            selected={selected}
            loading={loading}
            onBrush={brushAxis}
          />
          <AxesTable axes={axes} brushes={brushes} onBrush={brushAxis} />
        </>
      )}
      {xAxis !== null && yAxis !== null && (
        <Scatter x={xAxis} y={yAxis} mask={mask} count={runs.length} loading={loading} />
      )}
    </Stack>
  );
}

function usePalette(): Palette {
  return palettes[useComputedColorScheme('light', { getInitialValueInEffect: false })];
}

interface Drag {
  axis: number;
  from: number;
  to: number;
  /** others is the mask of the other axes' brushes, computed once when the drag starts. */
  others: Uint8Array;
}

/**
 * ParallelCoordinates draws a line per run across the axes. Dragging along
 * an axis brushes it (a click on it clears its brush); while dragging, the
 * canvas is redrawn once per frame without a React render.
 */
function ParallelCoordinates({
  axes,
  runs,
  brushes,
  mask,
  selected,
  loading,
  onBrush,
}: {
  axes: Axis[];
  runs: Run[];
  brushes: Brush[];
  mask: Uint8Array;
  selected: number;
  loading: boolean;
  onBrush: (key: string, brush: Brush | null) => void;
}) {
  const { ref: box, width } = useElementSize();
  const canvas = useRef<HTMLCanvasElement>(null);
  const drag = useRef<Drag | null>(null);
  const faded = useRef<{ axes: Axis[]; width: number; palette: Palette; ratio: number; layer: HTMLCanvasElement; drawn: number } | null>(null);
  const frame = useRef(0);
  const palette = usePalette();
  const layout: Layout = useMemo(() => layoutAxes(axes.length, width, linesHeight), [axes.length, width]);

  const draw = () => {
    const el = canvas.current;
    if (el === null || width === 0) {
      return;
    }
    const ctx = prepare(el, width, linesHeight);
    if (ctx === null) {
      return;
    }
    const d = drag.current;
    let shown = mask;
    if (d !== null) {
      const lo = Math.min(d.from, d.to);
      const hi = Math.max(d.from, d.to);
      const pos = (axes[d.axis] as Axis).pos;
      shown = d.others.map((m, i) => (m === 1 && (pos[i] as number) >= lo && (pos[i] as number) <= hi ? 1 : 0));
    }
    const places = axes.map((a, i) =>
      d !== null && d.axis === i ? ([d.from, d.to] as [number, number]) : brushPlace(a, brushes.find((b) => b.key === a.key)),
    );
    // The faded layer: drawn again only when the data, the axes, the size or the colours change.
    const ratio = window.devicePixelRatio || 1;
    let cache = faded.current;
    if (cache?.axes !== axes || cache.width !== width || cache.palette !== palette || cache.ratio !== ratio) {
      const layer = cache?.layer ?? document.createElement('canvas');
      const lctx = prepare(layer, width, linesHeight);
      cache = { axes, width, palette, ratio, layer, drawn: lctx === null ? 0 : drawFaded(lctx, axes, runs.length, layout, palette) };
      faded.current = cache;
    }
    ctx.drawImage(cache.layer, 0, 0, width, linesHeight);
    drawLines(ctx, { axes, mask: shown, count: runs.length, brushes: places }, layout, palette);
    el.dataset['lines'] = String(cache.drawn);
    el.dataset['selected'] = String(shown.reduce((n, m) => n + m, 0));
    el.dataset['axesX'] = layout.xs.map((x) => x.toFixed(1)).join(',');
    el.dataset['plotTop'] = String(layout.top);
    el.dataset['plotBottom'] = String(layout.bottom);
  };
  const drawRef = useRef(draw);
  useEffect(() => {
    drawRef.current = draw;
    draw();
  });
  useEffect(() => () => { cancelAnimationFrame(frame.current); }, []);
  const schedule = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => { drawRef.current(); });
  };

  const place = (e: PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    const { x, y } = place(e);
    if (y < layout.top - 8 || y > layout.bottom + 8) {
      return;
    }
    let best = -1;
    layout.xs.forEach((ax, i) => {
      if (Math.abs(ax - x) <= 24 && (best < 0 || Math.abs(ax - x) < Math.abs((layout.xs[best] ?? 0) - x))) {
        best = i;
      }
    });
    if (best < 0) {
      return;
    }
    const key = (axes[best] as Axis).key;
    const t = tOf(layout, y);
    drag.current = { axis: best, from: t, to: t, others: brushMaskWithout(runs, brushes, key) };
    e.currentTarget.setPointerCapture(e.pointerId);
    schedule();
  };
  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    if (d === null) {
      return;
    }
    d.to = tOf(layout, place(e).y);
    schedule();
  };
  const onPointerUp = (e: PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    drag.current = null;
    if (d === null) {
      return;
    }
    const axis = axes[d.axis] as Axis;
    const moved = Math.abs(d.to - d.from) * (layout.bottom - layout.top);
    // A click (no drag) on an axis clears its brush.
    onBrush(axis.key, moved < 3 ? null : brushFromDrag(axis, d.from, d.to));
    e.currentTarget.releasePointerCapture(e.pointerId);
    schedule();
  };

  const summary = `Parallel coordinates of ${runs.length.toLocaleString()} runs over ${axes.map((a) => a.key).join(', ')}${
    brushes.length > 0 ? `; ${selected.toLocaleString()} runs within the brushes` : ''
  }. The table of axes below lists each axis's range and brush.`;
  return (
    <div ref={box} className={classes.sweepCanvasBox}>
      <canvas
        ref={canvas}
        className={classes.sweepCanvas}
        style={{ height: linesHeight }}
        role="img"
        aria-label={summary}
        data-testid="sweep-lines"
        data-loading={String(loading)}
        data-runs={runs.length}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => {
          drag.current = null;
          schedule();
        }}
      />
      <Text size="xs" c="dimmed">
        Drag along an axis to brush it; click an axis to clear its brush. Or type the ranges in the table of axes.
      </Text>
    </div>
  );
}

/** brushMaskWithout is the mask of every brush but the one of key. */
function brushMaskWithout(runs: readonly Run[], brushes: readonly Brush[], key: string): Uint8Array {
  return brushMask(runs, brushes.filter((b) => b.key !== key));
}

/**
 * AxesTable is the plot's text alternative and its keyboard path: each
 * axis with its range, the runs without a value, and its brush as two
 * number fields (a numeric axis) or a chip per value (a categorical one).
 */
function AxesTable({ axes, brushes, onBrush }: { axes: Axis[]; brushes: Brush[]; onBrush: (key: string, brush: Brush | null) => void }) {
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table data-testid="sweep-axes" verticalSpacing={4}>
        <Table.Caption>Axes of the parallel coordinates, with their ranges and brushes</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Axis</Table.Th>
            <Table.Th scope="col">Range</Table.Th>
            <Table.Th scope="col">Runs without a value</Table.Th>
            <Table.Th scope="col">Brush</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {axes.map((a) => {
            const brush = brushes.find((b) => b.key === a.key);
            return (
              <Table.Tr key={a.key} data-axis={a.key}>
                <Table.Th scope="row">{a.key}</Table.Th>
                <Table.Td>
                  {a.kind === 'category'
                    ? `${String(a.categories.length)} values: ${a.categories.slice(0, 8).map(formatValue).join(', ')}${a.categories.length > 8 ? ', …' : ''}`
                    : a.max < a.min
                      ? 'no values'
                      : `${formatValue(a.min)} to ${formatValue(a.max)}${a.log ? ' (log scale)' : ''}`}
                </Table.Td>
                <Table.Td>{a.missing === 0 ? 'none' : `${a.missing.toLocaleString()} (left out of this axis’s lines)`}</Table.Td>
                <Table.Td>
                  {a.kind === 'category' ? (
                    <CategoryBrush axis={a} brush={brush} onBrush={onBrush} />
                  ) : (
                    <RangeBrush key={JSON.stringify(brush ?? null)} axis={a} brush={brush} onBrush={onBrush} />
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function parseNumber(text: string): number | null {
  const t = text.trim();
  if (t === '') {
    return null;
  }
  const n = Number(t);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** RangeBrush edits a numeric axis's brush: from and to (an empty field is the axis's end). */
function RangeBrush({ axis, brush, onBrush }: { axis: Axis; brush: Brush | undefined; onBrush: (key: string, brush: Brush | null) => void }) {
  const range = brush !== undefined && !('values' in brush) ? brush : null;
  const form = useForm({
    initialValues: { from: range === null ? '' : String(range.lo), to: range === null ? '' : String(range.hi) },
    validate: {
      from: (v) => (Number.isNaN(parseNumber(v)) ? 'Enter a number.' : null),
      to: (v, values) => {
        const to = parseNumber(v);
        const from = parseNumber(values.from);
        if (Number.isNaN(to)) {
          return 'Enter a number.';
        }
        return to !== null && from !== null && !Number.isNaN(from) && to < from ? 'Must not be below from.' : null;
      },
    },
  });
  return (
    <form
      onSubmit={form.onSubmit((v) => {
        const from = parseNumber(v.from);
        const to = parseNumber(v.to);
        if (from === null && to === null) {
          onBrush(axis.key, null);
          return;
        }
        onBrush(axis.key, { key: axis.key, lo: from ?? axis.min, hi: to ?? axis.max });
      })}
    >
      <Group gap={6} align="flex-start" wrap="nowrap">
        <TextInput
          size="xs"
          w={110}
          aria-label={`${axis.key} from`}
          placeholder={formatValue(axis.min)}
          inputMode="decimal"
          {...form.getInputProps('from')}
        />
        <TextInput
          size="xs"
          w={110}
          aria-label={`${axis.key} to`}
          placeholder={formatValue(axis.max)}
          inputMode="decimal"
          {...form.getInputProps('to')}
        />
        <Button size="xs" variant="default" type="submit" aria-label={`Brush ${axis.key}`}>
          Brush
        </Button>
        {range !== null && (
          <Button
            size="xs"
            variant="subtle"
            aria-label={`Clear the brush of ${axis.key}`}
            onClick={() => {
              onBrush(axis.key, null);
            }}
          >
            Clear
          </Button>
        )}
      </Group>
    </form>
  );
}

/** CategoryBrush edits a categorical axis's brush: a chip per value. */
function CategoryBrush({ axis, brush, onBrush }: { axis: Axis; brush: Brush | undefined; onBrush: (key: string, brush: Brush | null) => void }) {
  const chosen = brush !== undefined && 'values' in brush ? brush.values : [];
  const shown = axis.categories.slice(0, 40);
  return (
    <Chip.Group
      multiple
      value={shown.flatMap((c, i) => (chosen.includes(c) ? [String(i)] : []))}
      onChange={(v) => {
        const values = v.map((i) => shown[Number(i)]).filter((c) => c !== undefined);
        onBrush(axis.key, values.length === 0 ? null : { key: axis.key, values });
      }}
    >
      <Group gap={4} role="group" aria-label={`${axis.key} values`}>
        {shown.map((c, i) => (
          <Chip key={String(i)} value={String(i)} size="xs">
            {formatValue(c)}
          </Chip>
        ))}
        {axis.categories.length > shown.length && (
          <Text size="xs">and {String(axis.categories.length - shown.length)} more: drag on the axis</Text>
        )}
      </Group>
    </Chip.Group>
  );
}

/** Scatter draws one key against another (a param against a metric, by default); the brushed runs stand out. */
function Scatter({ x, y, mask, count, loading }: { x: Axis; y: Axis; mask: Uint8Array; count: number; loading: boolean }) {
  const { ref: box, width } = useElementSize();
  const canvas = useRef<HTMLCanvasElement>(null);
  const palette = usePalette();
  useEffect(() => {
    const el = canvas.current;
    if (el === null || width === 0) {
      return;
    }
    const ctx = prepare(el, width, scatterHeight);
    if (ctx !== null) {
      el.dataset['points'] = String(drawScatter(ctx, x, y, mask, count, width, scatterHeight, palette));
    }
  }, [x, y, mask, count, width, palette]);
  const range = (a: Axis) =>
    a.kind === 'category' ? `${String(a.categories.length)} values` : `${formatValue(a.min)} to ${formatValue(a.max)}`;
  return (
    <div ref={box} className={classes.sweepCanvasBox}>
      <canvas
        ref={canvas}
        className={classes.sweepCanvas}
        style={{ height: scatterHeight }}
        role="img"
        aria-label={`Scatter of ${y.key} (${range(y)}) against ${x.key} (${range(x)}) for ${count.toLocaleString()} runs.`}
        data-testid="sweep-scatter"
        data-loading={String(loading)}
      />
    </div>
  );
}
