/**
 * The series windows a plot draws (GET /api/runs/{id}/series), shared by the
 * chart and the run route's loader, which asks for the first plot while the
 * page's chunks load: both must build the same query key.
 */
import { keepPreviousData } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';

import { maxPointsFor, type StepWindow } from '../plot-data';
import type { Clock, Run, RunsSeriesReadout, SeriesWindow } from '../types';

/** seriesShownFirst is how many of a run's series its page plots at first. */
export const seriesShownFirst = 3;

/**
 * plotMaxPoints is the points to ask for per series: four per pixel column
 * of the window's width (an upper bound of the plot's), rounded up to 256 px,
 * so that the loader can ask before the page is laid out and a small resize
 * asks nothing again.
 */
export function plotMaxPoints(viewportWidth: number): number {
  return maxPointsFor(Math.ceil(Math.max(viewportWidth, 256) / 256) * 256);
}

/** seriesGrowth changes when a run's series grew (a live run): the plot asks again. */
export function seriesGrowth(run: Run): string {
  return (run.series ?? []).map((s) => `${s.name}:${String(s.count)}`).join(',');
}

/** windowParams adds a series read's query (GET /api/runs/{id}/series and /api/runs/series) to params. */
function windowParams(
  params: URLSearchParams,
  names: readonly string[],
  maxPoints: number,
  win: StepWindow,
  time: boolean,
): URLSearchParams {
  params.set('max_points', String(maxPoints));
  names.forEach((n) => { params.append('name', n); });
  if (win !== null) {
    params.set('from', String(win.from));
    params.set('to', String(win.to));
  }
  if (time) {
    params.set('x', 'time');
  }
  return params;
}

export function seriesWindowOptions(
  runId: string,
  names: readonly string[],
  maxPoints: number,
  win: StepWindow,
  time: boolean,
  refreshKey: string | number,
) {
  const params = windowParams(new URLSearchParams(), names, maxPoints, win, time);
  return {
    queryKey: ['runs', 'one', runId, 'series', names, maxPoints, win?.from ?? null, win?.to ?? null, time, refreshKey],
    queryFn: ({ signal }: { signal: AbortSignal }) =>
      apiFetch<{ series: SeriesWindow[]; clock: Clock }>(
        `/runs/${encodeURIComponent(runId)}/series?${params.toString()}`,
        { signal },
      ),
    placeholderData: keepPreviousData,
    // A window's answer changes only when the series grow, and growth is
    // in the key: a mounting chart uses what the loader fetched.
    staleTime: Infinity,
  };
}

/**
 * seriesOfRunsOptions reads the same series of several runs (up to 100) in
 * one request, GET /api/runs/series, with maxPoints per series and run (the
 * server answers less when all of them would pass its bound for one read).
 */
export function seriesOfRunsOptions(
  runIds: readonly string[],
  names: readonly string[],
  maxPoints: number,
  win: StepWindow,
  time: boolean,
  refreshKey: string | number,
) {
  const params = windowParams(new URLSearchParams({ ids: runIds.join(',') }), names, maxPoints, win, time);
  return {
    queryKey: ['runs', 'series-of', runIds, names, maxPoints, win?.from ?? null, win?.to ?? null, time, refreshKey],
    queryFn: ({ signal }: { signal: AbortSignal }) =>
      apiFetch<RunsSeriesReadout>(`/runs/series?${params.toString()}`, { signal }),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  };
}
