/**
 * The run page's plot choices in its URL (`/runs/{id}?plot=overlay&s=loss&s=lr&logy=loss&x=relative`),
 * so a link reproduces the view and a reload keeps it. Names are repeated
 * params, not a joined list: a series name may hold any character.
 */
import type { XAxis } from './plot-data';

/** PlotLayout is one panel per series ('small', the default) or every series on one axis. */
export type PlotLayout = 'small' | 'overlay';

/** PlotX is the x axis: steps, a time axis, or another series of the run (joined on step). */
export type PlotX = { kind: XAxis } | { kind: 'series'; name: string };

/** PlotState is what the URL says about the run page's plots. */
export interface PlotState {
  layout: PlotLayout;
  /** series are the series plotted ([]: none, kept as one empty `s=`), or null for the page's default choice. */
  series: string[] | null;
  /** logY and logX name the series whose panel has that axis on a log scale. */
  logY: string[];
  logX: string[];
  x: PlotX;
}

/** The search params this module owns; any other (e.g. `view`) is kept as it is. */
const keys = ['plot', 's', 'logy', 'logx', 'x', 'xseries'] as const;

function unique(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}

/** parsePlotState reads the plot choices from a run page's search params; anything unknown reads as the default. */
export function parsePlotState(params: URLSearchParams): PlotState {
  const xs = params.get('xseries');
  const x = params.get('x');
  const series = params.has('s') ? unique(params.getAll('s')) : null;
  return {
    layout: params.get('plot') === 'overlay' ? 'overlay' : 'small',
    series,
    logY: unique(params.getAll('logy')),
    logX: unique(params.getAll('logx')),
    x:
      xs !== null && xs !== ''
        ? { kind: 'series', name: xs }
        : x === 'wall' || x === 'relative'
          ? { kind: x }
          : { kind: 'step' },
  };
}

/**
 * formatPlotState writes the plot choices into a copy of params, leaving
 * the other params as they are; defaults are left out, so a plain run link
 * stays plain.
 */
export function formatPlotState(params: URLSearchParams, state: PlotState): URLSearchParams {
  const out = new URLSearchParams(params);
  keys.forEach((k) => { out.delete(k); });
  if (state.layout === 'overlay') {
    out.set('plot', 'overlay');
  }
  for (const s of unique(state.series ?? [])) {
    out.append('s', s);
  }
  if (state.series?.length === 0) {
    out.set('s', '');
  }
  for (const s of unique(state.logY)) {
    out.append('logy', s);
  }
  for (const s of unique(state.logX)) {
    out.append('logx', s);
  }
  if (state.x.kind === 'series') {
    out.set('xseries', state.x.name);
  } else if (state.x.kind !== 'step') {
    out.set('x', state.x.kind);
  }
  return out;
}

/** withFlag adds names to (on) or takes them out of (off) a list of series with a flag. */
export function withFlag(list: readonly string[], names: readonly string[], on: boolean): string[] {
  return on ? unique([...list, ...names]) : list.filter((s) => !names.includes(s));
}
