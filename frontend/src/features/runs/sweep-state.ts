/**
 * The sweep view's state in the URL, and how its brushes become a query.
 *
 *   /runs?view=sweep&sweep=params.lr,params.opt,metrics.loss&sx=params.lr&sy=metrics.loss
 *        &brush=[{"k":"params.lr","lo":0.001,"hi":0.01}]&q=params.lr >= 0.001 and params.lr <= 0.01
 *
 * The brushes are kept twice: as `brush` (so the panel can draw them and
 * take one back) and as conditions at the end of `q` (so the table, the
 * count, a saved view and the run page's Previous/Next follow them, and the
 * query bar shows them). The query without them is the sweep's own
 * selection: {@link baseQuery} recovers it, and when the person has edited
 * `q` since, the brushes no longer match it and are dropped.
 */
import { sweepParams } from './sweep-url';

/**
 * quoteText writes text as a query string literal (view-state.ts has the
 * same: importing it from here would move the runs' enums out of the first
 * page's main chunk into a chunk of their own, a request more on that page).
 */
function quoteText(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A value a categorical axis holds: a param's text, number or boolean. */
export type Category = string | number | boolean;

/** Brush is a selection on one axis: a closed range of a numeric axis, or some values of a categorical one. */
export type Brush = { key: string; lo: number; hi: number } | { key: string; values: Category[] };

/** SweepState is the sweep panel's part of the URL. */
export interface SweepState {
  /** open is `view=sweep`: the panel shows above the table. */
  open: boolean;
  /** axes are the parallel coordinates' axes, left to right: `params.<path>` or `metrics.<name>`. */
  axes: string[];
  /** x and y are the scatter's axes (a param and a metric, by default). */
  x: string | null;
  y: string | null;
  brushes: Brush[];
}


/** maxAxes bounds the axes a link may ask for. */
export const maxAxes = 20;

const keyPattern = /^(params|metrics)\.[^,]{1,200}$/;
const barePart = /^[A-Za-z0-9_-]+$/;

function isKey(k: unknown): k is string {
  return typeof k === 'string' && keyPattern.test(k);
}

function isCategory(v: unknown): v is Category {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** parseBrushes reads the `brush` parameter (a JSON list), keeping the well-formed brushes, one per axis. */
export function parseBrushes(raw: string | null): Brush[] {
  if (raw === null || raw === '') {
    return [];
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) {
    return [];
  }
  const out: Brush[] = [];
  for (const item of data as unknown[]) {
    if (typeof item !== 'object' || item === null) {
      continue;
    }
    const b = item as Record<string, unknown>;
    const key = b['k'];
    if (!isKey(key) || out.some((o) => o.key === key)) {
      continue;
    }
    const { lo, hi, v } = b;
    if (typeof lo === 'number' && typeof hi === 'number' && Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi) {
      out.push({ key, lo, hi });
    } else if (Array.isArray(v) && v.length > 0 && v.length <= 100 && v.every(isCategory)) {
      out.push({ key, values: v });
    }
  }
  return out.slice(0, maxAxes);
}

/** brushesParam writes brushes as the `brush` parameter. */
export function brushesParam(brushes: readonly Brush[]): string {
  return JSON.stringify(brushes.map((b) => ('values' in b ? { k: b.key, v: b.values } : { k: b.key, lo: b.lo, hi: b.hi })));
}

function keyList(raw: string | null): string[] {
  const keys = raw === null || raw === '' ? [] : raw.split(',');
  return [...new Set(keys.filter(isKey))].slice(0, maxAxes);
}

function oneKey(raw: string | null): string | null {
  return isKey(raw) ? raw : null;
}

/** parseSweep reads the sweep's state from URL search parameters, ignoring what it does not know. */
export function parseSweep(search: URLSearchParams): SweepState {
  return {
    open: search.get('view') === 'sweep',
    axes: keyList(search.get('sweep')),
    x: oneKey(search.get('sx')),
    y: oneKey(search.get('sy')),
    brushes: parseBrushes(search.get('brush')),
  };
}

/** writeSweep sets the sweep's parameters on search (a copy), leaving out those at their default. */
export function writeSweep(search: URLSearchParams, state: SweepState): URLSearchParams {
  const out = new URLSearchParams(search);
  for (const name of sweepParams) {
    out.delete(name);
  }
  if (state.open) {
    out.set('view', 'sweep');
  }
  if (state.axes.length > 0) {
    out.set('sweep', state.axes.join(','));
  }
  if (state.x !== null) {
    out.set('sx', state.x);
  }
  if (state.y !== null) {
    out.set('sy', state.y);
  }
  if (state.brushes.length > 0) {
    out.set('brush', brushesParam(state.brushes));
  }
  return out;
}

/**
 * fieldName writes an axis key as the query language's field (docs/query.md,
 * "Any name"): a param path's parts and a metric's name bare when they are
 * letters, digits, `_` and `-` (dots between them for a metric), quoted
 * otherwise: `params.model."opt lr"`, `metrics."train/loss"`.
 */
export function fieldName(key: string): string {
  if (key.startsWith('params.')) {
    const parts = key.slice('params.'.length).split('.');
    return `params.${parts.map((p) => (barePart.test(p) ? p : quoteText(p))).join('.')}`;
  }
  const name = key.slice('metrics.'.length);
  return `metrics.${name.split('.').every((p) => barePart.test(p)) ? name : quoteText(name)}`;
}

/** numberLiteral writes a finite number as the query language reads it (`1e-7`, `2.5e21`). */
export function numberLiteral(n: number): string {
  return String(n).replace('e+', 'e');
}

function literal(v: Category): string {
  if (typeof v === 'string') {
    return quoteText(v);
  }
  return typeof v === 'number' ? numberLiteral(v) : String(v);
}

/** brushCondition is one brush as a condition: `f >= lo and f <= hi`, or `f in (…)` (`f = v` for one value). */
export function brushCondition(brush: Brush): string {
  const f = fieldName(brush.key);
  if ('values' in brush) {
    const [only] = brush.values;
    if (brush.values.length === 1 && only !== undefined) {
      return `${f} = ${literal(only)}`;
    }
    return `${f} in (${brush.values.map(literal).join(', ')})`;
  }
  return `${f} >= ${numberLiteral(brush.lo)} and ${f} <= ${numberLiteral(brush.hi)}`;
}

/** needsParentheses tells whether a query must be grouped before `and` joins it (it has an `or`). */
function needsParentheses(q: string): boolean {
  return /(^|[\s)])or($|[\s(])/i.test(q);
}

/**
 * combineQuery puts the brushes' conditions after the query, joined by
 * `and`; a query with an `or` is put in parentheses first (`and` binds
 * tighter). No brush: the query as it is.
 */
export function combineQuery(base: string, brushes: readonly Brush[]): string {
  const conditions = brushes.map(brushCondition).join(' and ');
  const b = base.trim();
  if (conditions === '') {
    return b;
  }
  if (b === '') {
    return conditions;
  }
  return `${needsParentheses(b) ? `(${b})` : b} and ${conditions}`;
}

/**
 * baseQuery is q without the brushes' conditions, or null when q does not
 * end with them (the person edited the query since: the brushes are stale).
 */
export function baseQuery(q: string, brushes: readonly Brush[]): string | null {
  const t = q.trim();
  if (brushes.length === 0) {
    return t;
  }
  const conditions = brushes.map(brushCondition).join(' and ');
  if (t === conditions) {
    return '';
  }
  const suffix = ` and ${conditions}`;
  if (!t.endsWith(suffix)) {
    return null;
  }
  const head = t.slice(0, -suffix.length);
  const inner = head.startsWith('(') && head.endsWith(')') ? head.slice(1, -1) : null;
  if (inner !== null && combineQuery(inner, brushes) === t) {
    return inner;
  }
  return combineQuery(head, brushes) === t ? head : null;
}

/** setBrush replaces (or, with null, clears) the brush of one axis, keeping the others in order. */
export function setBrush(brushes: readonly Brush[], key: string, brush: Brush | null): Brush[] {
  const i = brushes.findIndex((b) => b.key === key);
  if (brush === null) {
    return brushes.filter((b) => b.key !== key);
  }
  if (i < 0) {
    return [...brushes, brush];
  }
  return brushes.map((b, j) => (j === i ? brush : b));
}

/** inBrush tells whether a value passes a brush (a missing value never does). */
export function inBrush(brush: Brush, value: Category | undefined): boolean {
  if (value === undefined) {
    return false;
  }
  if ('values' in brush) {
    return brush.values.some((v) => v === value);
  }
  return typeof value === 'number' && value >= brush.lo && value <= brush.hi;
}

/**
 * roundEdge rounds a brush edge dragged with the mouse to the few digits a
 * pixel can tell apart on an axis spanning `span` (down for the low edge, up
 * for the high one, so the runs under the drag stay in).
 */
export function roundEdge(v: number, span: number, up: boolean): number {
  if (!Number.isFinite(v) || !(span > 0)) {
    return v;
  }
  const step = 10 ** (Math.floor(Math.log10(span)) - 3);
  const r = (up ? Math.ceil(v / step) : Math.floor(v / step)) * step;
  // Strip the float noise the multiplication leaves (0.1 * 3).
  return Number(r.toPrecision(12));
}
