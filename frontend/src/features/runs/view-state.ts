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
  /** cols are the extra columns: `params.<path>` or `metrics.<name>`. */
  cols: string[];
}

export const emptyView: ViewState = { q: '', project: null, status: [], review: [], sort: '', cols: [] };

const columnPattern = /^(params|metrics)\.[^,]{1,200}$/;

function list(raw: string | null): string[] {
  return raw === null || raw === '' ? [] : raw.split(',');
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** parseView reads a view from URL search parameters, ignoring what it does not know. */
export function parseView(search: URLSearchParams): ViewState {
  const project = search.get('project');
  return {
    q: search.get('q') ?? '',
    project: project === null || project === '' ? null : project,
    status: unique(list(search.get('status')).filter((s): s is RunStatus => runStatuses.includes(s as RunStatus))),
    review: unique(
      list(search.get('review')).filter((s): s is ReviewFilter => reviewFilters.includes(s as ReviewFilter)),
    ),
    sort: search.get('sort') ?? '',
    cols: unique(list(search.get('cols')).filter((c) => columnPattern.test(c))).slice(0, 40),
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
  return { q, project: view.project, status, review, sort: view.sort, typedStart };
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

/** nextSort is the sort after clicking a column header: a new column sorts descending, the same one flips. */
export function nextSort(current: string, key: string): string {
  const s = parseSort(current);
  const sort = s.key === key ? (s.desc ? key : `-${key}`) : `-${key}`;
  return sort === '-created' ? '' : sort;
}
