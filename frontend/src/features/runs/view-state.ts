/**
 * A runs view lives in the URL (so a link shares it and a reload keeps it):
 * the query, the quick-filter chips, the sort and the extra columns.
 *
 *   /runs?q=metrics.loss%20%3C%200.1&project=sweep-12&status=running,failed&sort=-metrics.loss&cols=params.lr,metrics.loss
 */
import { reviewStates, runStatuses, type ReviewState, type RunStatus } from './types';

/** ReviewFilter is a verdict, or `outdated` for verdicts on data that changed since. */
export type ReviewFilter = ReviewState | 'outdated';

export const reviewFilters: readonly ReviewFilter[] = [...reviewStates, 'outdated'];

export interface ViewState {
  /** q is the query the person typed (docs/query.md). */
  q: string;
  /** project, status and review are the quick-filter chips. */
  project: string | null;
  status: RunStatus[];
  review: ReviewFilter[];
  /** sort is the server's sort key, `-` first for descending; '' is newest first. */
  sort: string;
  /** cols are the extra columns: `params.<path>`, `metrics.<name>`, or a series summary (`last(loss)`, summaryKey). */
  cols: string[];
  /** hide are the columns (fixed or extra) not shown. */
  hide: string[];
  /** order is the columns' order when changed; columns it does not name follow in their default order. */
  order: string[];
  /** pin are the columns kept in view on the left when the table scrolls sideways. */
  pin: string[];
  /** density is the table's row height. */
  density: Density;
}

export type Density = 'comfortable' | 'compact';

/** fixedColumnKeys are the table's fixed columns, in their default order (columns.tsx draws them). */
export const fixedColumnKeys = ['name', 'project', 'status', 'failure', 'review', 'created', 'duration', 'tags'] as const;

/** defaultPin: Name is pinned unless the URL says otherwise (`pin=` pins nothing). */
export const defaultPin: readonly string[] = ['name'];

export const emptyView: ViewState = {
  q: '',
  project: null,
  status: [],
  review: [],
  sort: '',
  cols: [],
  hide: [],
  order: [],
  pin: [...defaultPin],
  density: 'comfortable',
};

const columnPattern = /^((params|metrics)\.[^,]{1,200}|(last|min|max)\([^,]{1,210}\))$/;

/** summaryFunctions are the summaries of a series the table can show as a column. */
export const summaryFunctions = ['last', 'min', 'max'] as const;
export type SummaryFunction = (typeof summaryFunctions)[number];

const bareSeriesName = /^[A-Za-z0-9_-]+$/;

/** seriesArgument writes a series name as the argument of min(…) and its kin: bare when it can be, else quoted. */
export function seriesArgument(name: string): string {
  return bareSeriesName.test(name) ? name : quoteText(name);
}

/** summaryKey is the column (and the server's sort key) of a series summary: `last(loss)`, `min("val/loss")`. */
export function summaryKey(fn: SummaryFunction, series: string): string {
  return `${fn}(${seriesArgument(series)})`;
}

/** parseSummaryKey reads a summary column's key back; null for any other key. */
export function parseSummaryKey(key: string): { fn: SummaryFunction; series: string } | null {
  const m = /^(last|min|max)\((.+)\)$/.exec(key);
  if (m === null) {
    return null;
  }
  const fn = m[1] as SummaryFunction;
  const arg = m[2] ?? '';
  if (bareSeriesName.test(arg)) {
    return { fn, series: arg };
  }
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(arg);
  return quoted === null ? null : { fn, series: (quoted[1] ?? '').replace(/\\(.)/g, '$1') };
}

/** summarySeries are the series the view's summary columns read, each once. */
export function summarySeries(cols: readonly string[]): string[] {
  return unique(cols.map(parseSummaryKey).flatMap((k) => (k === null ? [] : [k.series])));
}

/**
 * fieldSortKey is the server's sort key of a params or metrics column: the
 * name as the query language reaches it (quoted when it holds other
 * characters than letters, digits, `_`, `-` and `.`).
 */
export function fieldSortKey(key: string): string {
  const dot = key.indexOf('.');
  const name = key.slice(dot + 1);
  return /^[A-Za-z0-9_.-]+$/.test(name) ? key : `${key.slice(0, dot + 1)}${quoteText(name)}`;
}

/** isExtraColumn tells whether a key names a param, a metric or a series summary (a quoted name that does not parse is none). */
function isExtraColumn(key: string): boolean {
  return columnPattern.test(key) && (/^(params|metrics)\./.test(key) || parseSummaryKey(key) !== null);
}

function isColumnKey(key: string): boolean {
  return (fixedColumnKeys as readonly string[]).includes(key) || isExtraColumn(key);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function list(raw: string | null): string[] {
  return raw === null || raw === '' ? [] : raw.split(',');
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** parseView reads a view from URL search parameters, ignoring what it does not know. */
export function parseView(search: URLSearchParams): ViewState {
  const project = search.get('project');
  const pin = search.get('pin');
  const keys = (name: string) => unique(list(search.get(name)).filter(isColumnKey)).slice(0, 60);
  return {
    q: search.get('q') ?? '',
    project: project === null || project === '' ? null : project,
    status: unique(list(search.get('status')).filter((s): s is RunStatus => runStatuses.includes(s as RunStatus))),
    review: unique(
      list(search.get('review')).filter((s): s is ReviewFilter => reviewFilters.includes(s as ReviewFilter)),
    ),
    sort: search.get('sort') ?? '',
    cols: unique(list(search.get('cols')).filter(isExtraColumn)).slice(0, 40),
    hide: keys('hide'),
    order: keys('order'),
    pin: pin === null ? [...defaultPin] : keys('pin'),
    density: search.get('density') === 'compact' ? 'compact' : 'comfortable',
  };
}

/** viewSearch writes a view as URL search parameters; empty parts are left out. */
export function viewSearch(view: ViewState): URLSearchParams {
  const out = new URLSearchParams();
  if (view.q.trim() !== '') {
    out.set('q', view.q);
  }
  if (view.project !== null) {
    out.set('project', view.project);
  }
  if (view.status.length > 0) {
    out.set('status', view.status.join(','));
  }
  if (view.review.length > 0) {
    out.set('review', view.review.join(','));
  }
  if (view.sort !== '') {
    out.set('sort', view.sort);
  }
  if (view.cols.length > 0) {
    out.set('cols', view.cols.join(','));
  }
  if (view.hide.length > 0) {
    out.set('hide', view.hide.join(','));
  }
  if (view.order.length > 0) {
    out.set('order', view.order.join(','));
  }
  if (!sameList(view.pin, defaultPin)) {
    out.set('pin', view.pin.join(','));
  }
  if (view.density !== 'comfortable') {
    out.set('density', view.density);
  }
  return out;
}

/** quoteText writes text as a query string literal. */
export function quoteText(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * ListRequest is what the server gets for a view: the filters its list
 * endpoint takes as parameters (so totals stay exact, from the project
 * counters), and a query for the rest.
 */
export interface ListRequest {
  q: string;
  project: string | null;
  status: RunStatus | null;
  review: ReviewFilter | null;
  sort: string;
  /** typedStart is the character index in q where the typed query starts (to map error columns back). */
  typedStart: number;
  /** summaries are the series whose summaries the page carries (the summary columns'). */
  summaries: string[];
}

/**
 * listRequest turns a view into the list request. The project chip, a
 * single status or a single review chip (the server takes one of the two)
 * become parameters; other chips join the typed query as
 * `(<typed>) and status in (…) and review in (…)`. The typed part comes
 * first, so an error column maps back by one character.
 */
export function listRequest(view: ViewState): ListRequest {
  const status = view.status.length === 1 && view.review.length <= 1 ? (view.status[0] ?? null) : null;
  const review = status === null && view.review.length === 1 ? (view.review[0] ?? null) : null;
  const parts: string[] = [];
  if (status === null && view.status.length > 0) {
    parts.push(`status in (${view.status.join(', ')})`);
  }
  if (review === null && view.review.length > 0) {
    parts.push(`review in (${view.review.join(', ')})`);
  }
  const typed = view.q.trim() === '' ? null : view.q;
  let q = parts.join(' and ');
  let typedStart = 0;
  if (typed !== null) {
    q = parts.length === 0 ? typed : `(${typed}) and ${q}`;
    typedStart = parts.length === 0 ? 0 : 1;
  }
  return { q, project: view.project, status, review, sort: view.sort, typedStart, summaries: summarySeries(view.cols) };
}

/** SortState is a sort key split into the field and its direction. */
export interface SortState {
  key: string;
  desc: boolean;
}

/** parseSort reads a sort key; '' is the server default, newest first. */
export function parseSort(sort: string): SortState {
  if (sort === '') {
    return { key: 'created', desc: true };
  }
  return sort.startsWith('-') ? { key: sort.slice(1), desc: true } : { key: sort, desc: false };
}

/**
 * firstSortDescending is the direction a column sorts in when its header is
 * first clicked: times and durations descending (newest, longest first);
 * metrics descending, except those whose name has `loss` or `err` in it
 * (lower is better: ascending); names, other text and params ascending.
 */
export function firstSortDescending(key: string): boolean {
  if (key === 'created' || key === 'updated' || key === 'duration') {
    return true;
  }
  if (key.startsWith('metrics.')) {
    return !/loss|err/i.test(key.slice('metrics.'.length));
  }
  const summary = parseSummaryKey(key);
  if (summary !== null) {
    return !/loss|err/i.test(summary.series);
  }
  return false;
}

/** nextSort is the sort after clicking a column header: a new column sorts in its first direction, the same one flips. */
export function nextSort(current: string, key: string): string {
  const s = parseSort(current);
  const desc = s.key === key ? !s.desc : firstSortDescending(key);
  const sort = desc ? `-${key}` : key;
  return sort === '-created' ? '' : sort;
}

/** ColumnLayout is the table's columns as drawn: the shown ones, pinned first, and all of them in order. */
export interface ColumnLayout {
  /** all is every column (shown or hidden) in the chooser's order: pinned ones first. */
  all: string[];
  /** shown are the columns drawn, in order. */
  shown: string[];
  /** pinned are the shown columns kept on the left (the first pinned.length of shown). */
  pinned: string[];
  /** pins are the pinned columns, shown or hidden (the first pins.length of all). */
  pins: string[];
}

/**
 * columnLayout orders the fixed and extra columns: first as view.order says,
 * then the rest in their default order (fixed, then extra as added); pinned
 * columns move to the front (sticky columns must be the leftmost ones).
 */
export function columnLayout(view: Pick<ViewState, 'cols' | 'hide' | 'order' | 'pin'>): ColumnLayout {
  const defaults = [...fixedColumnKeys, ...view.cols];
  const ordered = unique([...view.order.filter((k) => defaults.includes(k)), ...defaults]);
  const isPinned = (k: string) => view.pin.includes(k);
  const all = [...ordered.filter(isPinned), ...ordered.filter((k) => !isPinned(k))];
  const shown = all.filter((k) => !view.hide.includes(k));
  return { all, shown, pinned: shown.filter(isPinned), pins: all.filter(isPinned) };
}

/** LayoutChange is what the column chooser does to one column. */
export type LayoutChange =
  | { kind: 'show'; key: string; shown: boolean }
  | { kind: 'move'; key: string; by: -1 | 1 }
  | { kind: 'pin'; key: string; pinned: boolean };

/** changeLayout applies a chooser change to a view's columns; it returns the parts of the view that change. */
export function changeLayout(
  view: Pick<ViewState, 'cols' | 'hide' | 'order' | 'pin'>,
  change: LayoutChange,
): Pick<ViewState, 'hide' | 'order' | 'pin'> {
  const { all } = columnLayout(view);
  const { key } = change;
  let hide = view.hide.filter((k) => k !== key);
  let pin = view.pin.filter((k) => all.includes(k));
  let order = all;
  if (change.kind === 'show') {
    hide = change.shown ? hide : [...hide, key];
  } else {
    hide = view.hide;
  }
  if (change.kind === 'pin') {
    pin = pin.filter((k) => k !== key);
    pin = change.pinned ? [...pin, key] : pin;
    // Re-sort: a pinned column joins the end of the pinned ones, an unpinned one leads the rest.
    order = columnLayout({ ...view, order: all, pin }).all;
  }
  if (change.kind === 'move') {
    const i = all.indexOf(key);
    const j = i + change.by;
    const other = all[j];
    // A column moves within its group: pinned ones among the pinned, the rest among the rest.
    if (i >= 0 && other !== undefined && pin.includes(other) === pin.includes(key)) {
      order = [...all];
      order[i] = other;
      order[j] = key;
    }
  }
  const defaults = columnLayout({ ...view, order: [], pin }).all;
  return { hide, pin, order: sameList(order, defaults) ? [] : order };
}
