/**
 * SeriesChart draws series with uPlot from the downsampling endpoint. It is
 * loaded on demand (its own chunk, uPlot included), so the runs table does
 * not carry it. uPlot draws on a canvas and sets positions through the CSSOM,
 * which the strict CSP allows; its stylesheet is a static file.
 */
import 'uplot/dist/uPlot.min.css';

import { Button, Group, SegmentedControl, Slider, Text } from '@mantine/core';
import { useQueries } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import uPlot from 'uplot';

import { ErrorAlert } from '@/components/error-alert';

import { maxRunsPerBatch } from '../api/runs';
import { plotMaxPoints, seriesOfRunsOptions, seriesWindowOptions } from '../api/series';
import { formatDuration, formatNumber } from '../format';
import { aggregateRuns, groupLines, type GroupBand } from '../group-series';
import {
  alignLines,
  forLogAxes,
  joinOnStep,
  nearestIndex,
  onAxis,
  stepWindowFor,
  windowFromScale,
  type Line,
  type PlotData,
  type StepWindow,
  type XAxis,
} from '../plot-data';
import classes from '../runs.module.css';
import type { RunsSeriesReadout } from '../types';


/** RunSeries is one run's part of a read of several runs' series. */
type RunSeries = RunsSeriesReadout['runs'][number];

/** sameNames says whether two runs' lists of series are the same. */
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** LineRequest names one drawn line: a series of a run, and its legend label. */
export interface LineRequest {
  runId: string;
  series: string;
  label: string;
  /** color is the line's colour (compare: the run's own); by default one of the palette, by position. */
  color?: string;
}

/** ChartGroup is one line drawn for several runs: their mean, with a band. */
export interface ChartGroup {
  label: string;
  color: string;
  runIds: readonly string[];
}

/** ShownSeries is one uPlot series after x: a line, or a group's mean or band edge. */
interface ShownSeries {
  label: string;
  color: string;
  edge: boolean;
}

// uPlot's Distr is a const enum, which isolated modules cannot read: 3 is its Logarithmic.
const logScale = JSON.parse('{"distr":3}') as uPlot.Scale;

const palette = ['#1c7ed6', '#e8590c', '#2f9e44', '#ae3ec9', '#c92a2a', '#0c8599', '#5f3dc4', '#a61e4d'];

/** ShownX is the x axis drawn: a step or time axis, or another series of the run. */
type ShownX = XAxis | 'series';

const axisNames: Record<XAxis, string> = { step: 'step', wall: 'time', relative: 'time since the first point' };

/** formatX shows an x value as the axis means it. */
function formatX(axis: ShownX, v: number): string {
  switch (axis) {
    case 'wall':
      return new Date(v * 1000).toLocaleString();
    case 'relative':
      return formatDuration(v);
    case 'series':
      return formatNumber(v);
    default:
      return String(v);
  }
}

/** count says how many of a thing, singular or plural. */
function count(n: number, what: string): string {
  return `${n.toLocaleString()} ${what}${n === 1 ? '' : 's'}`;
}

/** noValue stands in the legend where a line has no point at the cursor's x. */
const noValue = '—';

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

/**
 * SeriesChart plots lines (several series of a run, or one series of several
 * runs) with zoom (drag to select; the window is fetched again at full
 * resolution when it fits), log y and log x scales, smoothing, an x axis of
 * steps, wall time, time since each run's first point or another series of
 * the run (joined on step), a legend with the values at the cursor (synced
 * with the other charts of its syncKey), and a keyboard cursor: arrows
 * move it (Shift: ten points), + and − zoom around it, 0 resets. The zoom
 * window is a step range on every axis (a time range is turned into the
 * steps that cover it).
 */
export default function SeriesChart({
  title,
  lines,
  initialWindow = null,
  window: windowProp,
  onWindowChange,
  refreshKey,
  logY,
  onLogYChange,
  logX,
  onLogXChange,
  axis: axisProp,
  xSeries,
  syncKey,
  height = 320,
  maxPoints: maxPointsProp,
  groups,
  band = 'std',
}: {
  title: string;
  lines: LineRequest[];
  initialWindow?: StepWindow;
  /**
   * window and onWindowChange put the zoom in the caller's hands: panels with
   * a synced cursor also share a drag's selection, so they share one window.
   */
  window?: StepWindow;
  onWindowChange?: (win: StepWindow) => void;
  /** refreshKey changes when the series grew (a live run), to fetch again. */
  refreshKey?: string | number;
  /** logY and logX, with their handlers, put the log flags in the caller's hands (the run page's URL). */
  logY?: boolean;
  onLogYChange?: (on: boolean) => void;
  logX?: boolean;
  onLogXChange?: (on: boolean) => void;
  /** axis, when given, is the caller's x axis: the chart shows no x control of its own. */
  axis?: XAxis;
  /** xSeries plots each line against this series of its run, joined on step. */
  xSeries?: string;
  /** syncKey links the cursors of the charts that share it (uPlot's cursor.sync). */
  syncKey?: string;
  height?: number;
  /** maxPoints is the points each run asks for (compare shares a budget); by default the chart's width. */
  maxPoints?: number;
  /**
   * groups, when given, draw one line per group instead of one per run: the
   * mean of its runs' lines at each step, with a band (on the step axis).
   */
  groups?: readonly ChartGroup[];
  band?: GroupBand;
}) {
  const [ownWin, setOwnWin] = useState<StepWindow>(initialWindow);
  const win = onWindowChange === undefined ? ownWin : (windowProp ?? null);
  const setWin = onWindowChange ?? setOwnWin;
  const [ownLog, setOwnLog] = useState(false);
  const log = logY ?? ownLog;
  const setLog = onLogYChange ?? setOwnLog;
  const [ownLogX, setOwnLogX] = useState(false);
  const [ownAxis, setAxis] = useState<XAxis>('step');
  const axis = xSeries === undefined ? (axisProp ?? ownAxis) : 'step';
  const [smoothing, setSmoothing] = useState(0);
  const [viewport, setViewport] = useState(() => window.innerWidth);
  const [cursorText, setCursorText] = useState('');
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const cursorIdx = useRef(-1);
  const helpId = useId();

  const maxPoints = maxPointsProp ?? plotMaxPoints(viewport);
  const byRun = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const l of lines) {
      m.set(l.runId, [...(m.get(l.runId) ?? []), l.series]);
    }
    if (xSeries !== undefined) {
      for (const [runId, names] of m) {
        if (!names.includes(xSeries)) {
          m.set(runId, [...names, xSeries]);
        }
      }
    }
    return [...m.entries()];
  }, [lines, xSeries]);
  // Several runs with the same series (compare) are one read for all of them,
  // in parts of maxRunsPerBatch; other lines, one read per run.
  const batchNames = useMemo(() => {
    const first = byRun[0]?.[1] ?? [];
    return byRun.length > 1 && byRun.every(([, n]) => sameNames(n, first)) ? first : null;
  }, [byRun]);
  const batchIds = useMemo(() => {
    const ids = batchNames === null ? [] : byRun.map(([runId]) => runId);
    const parts: string[][] = [];
    for (let i = 0; i < ids.length; i += maxRunsPerBatch) {
      parts.push(ids.slice(i, i + maxRunsPerBatch));
    }
    return parts;
  }, [byRun, batchNames]);
  const single = useQueries({
    queries: (batchNames === null ? byRun : []).map(([runId, names]) =>
      seriesWindowOptions(runId, names, maxPoints, win, axis !== 'step', refreshKey ?? ''),
    ),
  });
  const batched = useQueries({
    queries: batchIds.map((ids) =>
      seriesOfRunsOptions(ids, batchNames ?? [], maxPoints, win, axis !== 'step', refreshKey ?? ''),
    ),
  });
  const requests = batchNames === null ? single : batched;
  const error = requests.find((r) => r.error !== null)?.error ?? null;
  const loading = requests.some((r) => r.isFetching);
  const ready = requests.every((r) => r.data !== undefined);
  const dataKey = requests.map((r) => r.dataUpdatedAt).join(',');
  // Each run's answer, in the order of byRun, once all have come (a run the
  // batch did not find: no series).
  const answers = useMemo((): Pick<RunSeries, 'series' | 'clock'>[] | null => {
    if (!ready) {
      return null;
    }
    if (batchNames === null) {
      return single.map((r) => r.data ?? { series: [], clock: null });
    }
    const found = new Map<string, RunSeries>();
    for (const r of batched) {
      r.data?.runs.forEach((run) => found.set(run.id, run));
    }
    return byRun.map(([runId]) => found.get(runId) ?? { series: [], clock: null });
    // dataKey stands for the answers' contents.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [batchNames, byRun, ready, dataKey]);

  // Times are there once every run's answer was asked with x=time (the
  // previous, untimed answer stays on screen meanwhile); with no run that
  // has a clock, the steps stay.
  const timed = answers !== null && answers.every((a) => a.series.every((s) => s.points.every((p) => p.length === 3)));
  const hasClock = answers !== null && answers.some((a) => a.clock !== null);
  const shownAxis: ShownX = xSeries !== undefined ? 'series' : timed && hasClock ? axis : 'step';
  const xName = shownAxis === 'series' ? (xSeries ?? '') : axisNames[shownAxis];
  // A wall-time axis is never logarithmic: its seconds since 1970 would draw as a flat line.
  const logXOn = (logX ?? ownLogX) && shownAxis !== 'wall';
  const setLogX = onLogXChange ?? setOwnLogX;
  const { placed, untimed, unmatched } = useMemo(() => {
    if (answers === null) {
      return { placed: [] as Line[], untimed: 0, unmatched: 0 };
    }
    let missing = 0;
    let unjoined = 0;
    const out = lines.map((l) => {
      const at = byRun.findIndex(([runId]) => runId === l.runId);
      const answer = answers[at];
      const series = answer?.series.find((s) => s.name === l.series);
      if (shownAxis === 'series') {
        const xs = answer?.series.find((s) => s.name === xSeries)?.points ?? [];
        const { line, unmatched: n } = joinOnStep(l.label, series?.points ?? [], xs);
        unjoined += n;
        return line;
      }
      const { line, untimed: n } = onAxis(l.label, series?.points ?? [], shownAxis, answer?.clock?.first ?? 0);
      missing += n;
      return line;
    });
    return { placed: out, untimed: missing, unmatched: unjoined };
  }, [answers, lines, byRun, shownAxis, xSeries]);
  // Groups: three lines each (the mean, then the band's lower and upper edge).
  const grouped = useMemo(() => {
    if (groups === undefined) {
      return placed;
    }
    return groups.flatMap((g) => {
      const members = placed.filter((_, i) => g.runIds.includes(lines[i]?.runId ?? ''));
      return groupLines(g.label, aggregateRuns(members.map((l) => l.points), band), band);
    });
  }, [groups, placed, lines, band]);
  const shown: ShownSeries[] = useMemo(
    () =>
      groups === undefined
        ? lines.map((l, i) => ({ label: l.label, color: l.color ?? palette[i % palette.length] ?? '#1c7ed6', edge: false }))
        : groups.flatMap((g, k) => {
            const [, lo, hi] = grouped.slice(k * 3, k * 3 + 3);
            return [
              { label: g.label, color: g.color, edge: false },
              { label: lo?.label ?? '', color: g.color, edge: true },
              { label: hi?.label ?? '', color: g.color, edge: true },
            ];
          }),
    [groups, lines, grouped],
  );
  const { lines: drawn, leftOutX, leftOutY } = useMemo(() => forLogAxes(grouped, logXOn, log), [grouped, logXOn, log]);
  // The zoom handlers made with the chart read the lines drawn now.
  const drawnRef = useRef(drawn);
  useEffect(() => {
    drawnRef.current = drawn;
  }, [drawn]);
  // Another series as x need not grow with the step, so its ranges are no step
  // ranges: that axis does not zoom.
  const zooms = shownAxis !== 'series';
  const windowFor = (min: number, max: number): StepWindow =>
    shownAxis === 'step' ? windowFromScale(min, max) : stepWindowFor(drawnRef.current, min, max);
  const data = useMemo(() => alignLines(drawn, { smoothing, log }), [drawn, smoothing, log]);
  const downsampled = answers !== null && answers.some((a) => a.series.some((s) => s.downsampled));
  const shownPoints = drawn.reduce((n, l) => n + l.points.length, 0);

  // The chart is made again when its shape changes (lines, scale); new data is set in place.
  const shape = [
    shown.map((l) => `${l.label}\u0001${l.color}`).join('\u0000'),
    String(log),
    String(logXOn),
    shownAxis,
    xName,
    syncKey ?? '',
    String(height),
  ].join('|');
  useEffect(() => {
    const el = box.current;
    if (el === null) {
      return;
    }
    const text = cssVar('--mantine-color-text', '#000');
    const grid = cssVar('--mantine-color-default-border', '#ddd');
    const axisStyle = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height,
      scales: { x: logXOn ? { ...logScale, time: false } : { time: shownAxis === 'wall' }, y: log ? logScale : {} },
      axes: [
        {
          ...axisStyle,
          label: xName,
          ...(shownAxis === 'relative'
            ? { values: (_u: uPlot, splits: number[]) => splits.map((v) => formatDuration(v)) }
            : {}),
        },
        { ...axisStyle },
      ],
      series: [
        // The legend shows the values at the cursor; before the cursor is on the plot, and where
        // a line has no point at the cursor's x, a dash (uPlot's default would print "null").
        { label: xName, value: (_u, v) => (typeof v === 'number' ? formatX(shownAxis, v) : noValue) },
        ...shown.map((l) => ({
          label: l.label,
          // A band's edges are thin and faint: the band's fill shows it.
          stroke: l.edge ? `${l.color}80` : l.color,
          width: l.edge ? 1 : groups === undefined ? 1.5 : 2.5,
          // Against another series the points are joined in x order, which need not be the
          // order they were logged in: dots, not a line through them.
          ...(shownAxis === 'series'
            ? { paths: () => null, points: { show: true, size: 4, space: 0, fill: l.color } }
            : { points: { show: false } }),
          value: (_u: uPlot, v: number | null) => (typeof v === 'number' ? formatNumber(v) || noValue : noValue),
        })),
      ],
      // uPlot series indices count x as 0: group k's mean is 1 + 3k, its edges the next two.
      bands: (groups ?? []).map((g, k) => ({ series: [3 + 3 * k, 2 + 3 * k] as [number, number], fill: `${g.color}33` })),
      cursor: {
        drag: { x: zooms, y: false, setScale: false },
        ...(syncKey === undefined ? {} : { sync: { key: syncKey } }),
      },
      legend: { live: true },
      hooks: {
        setSelect: [
          (u) => {
            if (zooms && u.select.width > 2) {
              const min = u.posToVal(u.select.left, 'x');
              const max = u.posToVal(u.select.left + u.select.width, 'x');
              setWin(windowFor(min, max));
            }
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
        setCursor: [
          (u) => {
            if (u.cursor.idx !== null && u.cursor.idx !== undefined) {
              cursorIdx.current = u.cursor.idx;
            }
          },
        ],
      },
    };
    const u = new uPlot(opts, [[]], el);
    u.root.querySelectorAll('canvas').forEach((c) => { c.setAttribute('aria-hidden', 'true'); });
    // What the chart really drew with, for tests and styles: uPlot's distr 3 is a log scale.
    el.dataset['yScale'] = Number(u.scales['y']?.distr) === 3 ? 'log' : 'linear';
    el.dataset['xScale'] = Number(u.scales['x']?.distr) === 3 ? 'log' : 'linear';
    chart.current = u;
    const over = u.root.querySelector('.u-over');
    const onDbl = () => { setWin(null); };
    over?.addEventListener('dblclick', onDbl);
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0) {
        u.setSize({ width: w, height });
        setViewport(window.innerWidth);
      }
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      over?.removeEventListener('dblclick', onDbl);
      u.destroy();
      chart.current = null;
    };
    // `shape` stands for lines, log and the axis (windowFor reads drawnRef).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  useEffect(() => {
    chart.current?.setData(data, true);
  }, [data, shape]);

  const describe = (plot: PlotData, idx: number) => {
    const x = plot[0][idx];
    if (x === undefined) {
      return '';
    }
    const values = shown.map((l, i) => `${l.label} ${formatNumber(plot[i + 1]?.[idx] ?? null) || noValue}`);
    if (shownAxis === 'step') {
      return `step ${String(x)}: ${values.join(', ')}`;
    }
    // The step of the first line with a point at this time.
    let step: number | undefined;
    for (const line of drawn) {
      const k = line.points.findIndex(([px]) => px === x);
      if (k >= 0) {
        step = line.steps?.[k];
        break;
      }
    }
    const at = step === undefined ? '' : ` (step ${String(step)})`;
    return `${xName} ${formatX(shownAxis, x)}${at}: ${values.join(', ')}`;
  };

  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const u = chart.current;
    const xs = data[0];
    if (u === null || xs.length === 0) {
      return;
    }
    let idx = cursorIdx.current < 0 ? 0 : cursorIdx.current;
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      const delta = (e.key === 'ArrowRight' ? 1 : -1) * (e.shiftKey ? 10 : 1);
      idx = Math.max(0, Math.min(xs.length - 1, idx + delta));
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      idx = e.key === 'Home' ? 0 : xs.length - 1;
    } else if (zooms && (e.key === '+' || e.key === '=' || e.key === '-' || e.key === '0')) {
      e.preventDefault();
      if (e.key === '0') {
        setWin(null);
        return;
      }
      const lo = xs[0] ?? 0;
      const hi = xs[xs.length - 1] ?? 0;
      const center = xs[idx] ?? (lo + hi) / 2;
      const half = ((hi - lo) / 2) * (e.key === '-' ? 2 : 0.5);
      setWin(windowFor(center - half, center + half));
      return;
    } else {
      return;
    }
    cursorIdx.current = idx;
    const x = xs[idx] ?? 0;
    const firstY = data.slice(1).map((col) => col[idx]).find((v) => typeof v === 'number');
    u.setCursor({ left: u.valToPos(x, 'x'), top: typeof firstY === 'number' ? u.valToPos(firstY, 'y') : 0 });
    setCursorText(describe(data, idx));
  };

  // Keep the index meaningful when the data change under the cursor.
  useEffect(() => {
    if (cursorIdx.current >= data[0].length) {
      cursorIdx.current = nearestIndex(data[0], data[0].at(-1) ?? 0);
    }
  }, [data]);

  return (
    <section aria-label={title}>
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Text fw={600}>{title}</Text>
        <Group gap="sm" wrap="wrap">
          {axisProp === undefined && xSeries === undefined && (
            <SegmentedControl
              size="xs"
              aria-label="X axis"
              data={[
                { value: 'step', label: 'Step' },
                { value: 'relative', label: 'Relative time', disabled: !hasClock },
                { value: 'wall', label: 'Wall time', disabled: !hasClock },
              ]}
              value={hasClock || !ready ? axis : 'step'}
              onChange={(v) => { setAxis(v); }}
            />
          )}
          <Text size="xs" component="span" aria-hidden>
            Y scale
          </Text>
          <SegmentedControl
            size="xs"
            aria-label="Y scale"
            data={[
              { value: 'linear', label: 'Linear' },
              { value: 'log', label: 'Log' },
            ]}
            value={log ? 'log' : 'linear'}
            onChange={(v) => { setLog(v === 'log'); }}
          />
          <Text size="xs" component="span" aria-hidden>
            X scale
          </Text>
          <SegmentedControl
            size="xs"
            aria-label="X scale"
            data={[
              { value: 'linear', label: 'Linear' },
              { value: 'log', label: 'Log', disabled: shownAxis === 'wall' },
            ]}
            value={logXOn ? 'log' : 'linear'}
            onChange={(v) => { setLogX(v === 'log'); }}
          />
          <Group gap={6} wrap="nowrap">
            <Text size="sm" id={`${helpId}-smooth`}>
              Smoothing
            </Text>
            <Slider
              w={120}
              min={0}
              max={0.99}
              step={0.01}
              value={smoothing}
              onChange={setSmoothing}
              label={(v) => v.toFixed(2)}
              thumbProps={{ 'aria-labelledby': `${helpId}-smooth` }}
            />
          </Group>
          <Button size="xs" variant="default" onClick={() => { setWin(null); }} disabled={win === null || !zooms}>
            Reset zoom
          </Button>
        </Group>
      </Group>
      {error !== null && <ErrorAlert error={error} title="The series could not be loaded" />}
      <div
        ref={box}
        className={classes.plot}
        tabIndex={0}
        role="group"
        aria-roledescription="chart"
        aria-label={`${title}. Arrow keys move the cursor, plus and minus zoom, 0 resets.`}
        aria-describedby={`${helpId}-cursor ${helpId}-window`}
        onKeyDown={onKey}
        data-testid="series-chart"
        data-points={shownPoints}
        data-window={win === null ? '' : `${String(win.from)}-${String(win.to)}`}
        data-axis={shownAxis}
        data-series={shown.filter((l) => !l.edge).map((l) => l.label).join('\u0000')}
        data-colors={shown.filter((l) => !l.edge).map((l) => l.color).join(' ')}
        data-bands={groups?.length ?? 0}
        data-loading={loading || !ready ? 'true' : 'false'}
      />
      <Text size="xs" c="dimmed" id={`${helpId}-window`} data-testid="chart-notes">
        {win === null ? 'All steps' : `Steps ${String(win.from)} to ${String(win.to)}`}
        {ready ? ` · ${shownPoints.toLocaleString()} points drawn${downsampled ? ' (downsampled, M4)' : ' (every point)'}` : ' · loading…'}
        {untimed > 0 && ` · ${untimed.toLocaleString()} points without a time (written before times were kept) left out`}
        {ready && !hasClock && ' · no times recorded for these points, so only steps'}
        {unmatched > 0 && ` · ${count(unmatched, 'point')} with no ${xName} at or around their step left out`}
        {leftOutX > 0 && ` · ${count(leftOutX, 'point')} with x ≤ 0 left out of the log x axis`}
        {leftOutY > 0 && ` · ${count(leftOutY, 'value')} ≤ 0 not shown on the log y axis`}
        {zooms ? ' · drag to zoom, double-click to reset' : ` · against ${xName} at the same step; this axis does not zoom`}
      </Text>
      <Text size="sm" id={`${helpId}-cursor`} aria-live="polite" data-testid="chart-cursor">
        {cursorText}
      </Text>
    </section>
  );
}
