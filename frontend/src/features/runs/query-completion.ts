/**
 * Completion for the query bar (docs/query.md): field names where a condition
 * starts, the param paths, metric and series names of the lab's live runs
 * (the server's list merged with those of the loaded runs), and values for
 * status, review and project after their operator.
 */
import { quoteText, reviewFilters, seriesArgument } from './view-state';
import { runStatuses } from './types';

/** Suggestion replaces text[from, to) with insert. */
export interface Suggestion {
  label: string;
  insert: string;
  from: number;
  to: number;
  kind: 'field' | 'value';
}

/** CompletionSource is what the completer knows about the data. */
export interface CompletionSource {
  params: readonly string[];
  metrics: readonly string[];
  series: readonly string[];
  projects: readonly string[];
}

/** KnownKeys are the names completion and the column chooser offer. */
export interface KnownKeys {
  params: string[];
  metrics: string[];
  series: string[];
}

/**
 * knownKeys merges lists of names: the server's (GET /api/runs/keys, for the
 * project chip's project or for all), any narrowed by a prefix, and those of
 * the loaded runs (which may be newer than the server's cached list). Each
 * kind comes out sorted, once per name.
 */
export function knownKeys(...lists: (Partial<KnownKeys> | undefined)[]): KnownKeys {
  const merge = (kind: keyof KnownKeys) =>
    [...new Set(lists.flatMap((l) => l?.[kind] ?? []))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { params: merge('params'), metrics: merge('metrics'), series: merge('series') };
}

/** seriesFunctions are the summaries of a series a condition can compare. */
export const seriesFunctions = ['min', 'max', 'last', 'count'] as const;

/** plainFields are the fields that are not params or metrics, in the order offered. */
export const plainFields = [
  'project',
  'status',
  'review',
  'name',
  'tag',
  'notes',
  'host',
  'reviewer',
  'created',
  'started',
  'finished',
  'duration',
] as const;

const maxSuggestions = 12;
const barePattern = /^[A-Za-z0-9_-]+$/;

interface Token {
  kind: 'word' | 'string' | 'op' | 'open' | 'close' | 'comma';
  text: string;
  start: number;
  /** closed is false for a string that runs to the end of the text. */
  closed: boolean;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let closed = false;
      while (j < text.length) {
        if (text.charAt(j) === '\\') {
          j += 2;
          continue;
        }
        if (text.charAt(j) === c) {
          closed = true;
          j++;
          break;
        }
        j++;
      }
      out.push({ kind: 'string', text: text.slice(i, Math.min(j, text.length)), start: i, closed });
      i = j;
    } else if (c === '(') {
      out.push({ kind: 'open', text: c, start: i, closed: true });
      i++;
    } else if (c === ')') {
      out.push({ kind: 'close', text: c, start: i, closed: true });
      i++;
    } else if (c === ',') {
      out.push({ kind: 'comma', text: c, start: i, closed: true });
      i++;
    } else if ('=!<>~'.includes(c)) {
      const two = text.slice(i, i + 2);
      const op = ['!=', '<=', '>='].includes(two) ? two : c;
      out.push({ kind: 'op', text: op, start: i, closed: true });
      i += op.length;
    } else {
      let j = i;
      while (j < text.length && !/[\s"'(),=!<>~]/.test(text.charAt(j))) {
        j++;
      }
      out.push({ kind: 'word', text: text.slice(i, j), start: i, closed: true });
      i = j;
    }
  }
  return out;
}

const keywords = new Set(['and', 'or', 'not']);

/** fieldOfValue finds the field whose value is being typed after the tokens before, or null. */
function fieldOfValue(before: Token[]): string | null {
  const last = before.at(-1);
  if (last === undefined) {
    return null;
  }
  if (last.kind === 'op' && (last.text === '=' || last.text === '!=' || last.text === '~')) {
    const field = before.at(-2);
    return field?.kind === 'word' ? field.text.toLowerCase() : null;
  }
  if (last.kind === 'open' || last.kind === 'comma') {
    // Inside `field in (a, b, …`: walk back over the list to its `in`.
    let k = before.length - 1;
    while (k >= 0 && before[k]?.kind !== 'open') {
      k--;
    }
    const inWord = before[k - 1];
    const field = before[k - 2];
    if (inWord?.kind === 'word' && inWord.text.toLowerCase() === 'in' && field?.kind === 'word') {
      return field.text.toLowerCase();
    }
  }
  return null;
}

function startsCondition(before: Token[]): boolean {
  const last = before.at(-1);
  return (
    last === undefined ||
    last.kind === 'open' ||
    (last.kind === 'word' && keywords.has(last.text.toLowerCase()))
  );
}

function valuesFor(field: string, source: CompletionSource): string[] {
  switch (field) {
    case 'status':
      return [...runStatuses];
    case 'review':
      return [...reviewFilters];
    case 'project':
      return [...source.projects];
    default:
      return [];
  }
}

/** inSeriesCall tells whether the tokens before end in `min(` (or max, last, count). */
function inSeriesCall(before: Token[]): boolean {
  const fn = before.at(-2);
  return (
    before.at(-1)?.kind === 'open' &&
    fn?.kind === 'word' &&
    (seriesFunctions as readonly string[]).includes(fn.text.toLowerCase())
  );
}

function matches(candidate: string, prefix: string): boolean {
  return candidate.toLowerCase().startsWith(prefix.toLowerCase()) && candidate !== prefix;
}

/**
 * complete lists what may be typed at `cursor` in `text`. It never guesses
 * past the cursor: the text after it is kept as it is.
 */
export function complete(text: string, cursor: number, source: CompletionSource): Suggestion[] {
  const head = text.slice(0, cursor);
  const tokens = tokenize(head);
  let current = tokens.at(-1);
  // The token being typed touches the cursor; otherwise a new one starts here.
  if (
    current !== undefined &&
    !(current.kind === 'word' && current.start + current.text.length === cursor) &&
    !(current.kind === 'string' && !current.closed)
  ) {
    current = undefined;
  }
  const before = current === undefined ? tokens : tokens.slice(0, -1);
  const from = current?.start ?? cursor;
  const field = fieldOfValue(before);
  if (field !== null) {
    let prefix = current?.text ?? '';
    if (current?.kind === 'string') {
      prefix = current.text.slice(1);
    }
    return valuesFor(field, source)
      .filter((v) => prefix === '' || matches(v, prefix))
      .slice(0, maxSuggestions)
      .map((v) => ({
        label: v,
        insert: barePattern.test(v) && current?.kind !== 'string' ? v : quoteText(v),
        from,
        to: cursor,
        kind: 'value' as const,
      }));
  }
  if (inSeriesCall(before)) {
    // `min(lo` or `last("val l`: a series name, and the closing parenthesis.
    let prefix = current?.text ?? '';
    if (current?.kind === 'string') {
      prefix = current.text.slice(1);
    }
    return source.series
      .filter((n) => prefix === '' || matches(n, prefix))
      .slice(0, maxSuggestions)
      .map((n) => ({
        label: n,
        insert: `${current?.kind === 'string' ? quoteText(n) : seriesArgument(n)})`,
        from,
        to: cursor,
        kind: 'value' as const,
      }));
  }
  if (current?.kind === 'string' || !startsCondition(before)) {
    return [];
  }
  const prefix = current?.text ?? '';
  const fields = [
    ...plainFields,
    ...source.params.filter((p) => p.split('.').every((part) => barePattern.test(part))).map((p) => `params.${p}`),
    ...source.metrics.filter((m) => barePattern.test(m)).map((m) => `metrics.${m}`),
    ...seriesFunctions.flatMap((fn) => source.series.map((n) => `${fn}(${seriesArgument(n)})`)),
  ];
  // A bare `params` or `metrics` offers the paths under it.
  return fields
    .filter((f) => prefix === '' || matches(f, prefix))
    .slice(0, maxSuggestions)
    .map((f) => ({ label: f, insert: f, from, to: cursor, kind: 'field' as const }));
}

/**
 * namePrefix is the start of the param path, metric or series name being
 * typed at `cursor` (after `params.`, `metrics.` or inside `min(`), or null
 * when no name is being typed: what to ask the server for when its list
 * without a prefix was truncated.
 */
export function namePrefix(text: string, cursor: number): string | null {
  const tokens = tokenize(text.slice(0, cursor));
  const current = tokens.at(-1);
  const touching =
    current !== undefined &&
    ((current.kind === 'word' && current.start + current.text.length === cursor) ||
      (current.kind === 'string' && !current.closed));
  const before = touching ? tokens.slice(0, -1) : tokens;
  if (inSeriesCall(before)) {
    if (!touching) {
      return '';
    }
    return current.kind === 'string' ? current.text.slice(1) : current.text;
  }
  if (!touching || current.kind !== 'word') {
    return null;
  }
  for (const head of ['params.', 'metrics.']) {
    if (current.text.toLowerCase().startsWith(head)) {
      return current.text.slice(head.length);
    }
  }
  return null;
}

/** applySuggestion puts a suggestion into the text and says where the cursor goes (after it and a space). */
export function applySuggestion(text: string, s: Suggestion): { text: string; cursor: number } {
  const rest = text.slice(s.to);
  const spacer = rest.startsWith(' ') ? '' : ' ';
  const next = text.slice(0, s.from) + s.insert + spacer + rest;
  return { text: next, cursor: s.from + s.insert.length + 1 };
}

/** paramPaths lists the dotted paths of the leaves of params (objects are walked, arrays are leaves). */
export function paramPaths(params: Record<string, unknown>, prefix = '', depth = 0, out = new Set<string>()): Set<string> {
  for (const [key, value] of Object.entries(params)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 8) {
      paramPaths(value as Record<string, unknown>, path, depth + 1, out);
    } else {
      out.add(path);
    }
  }
  return out;
}
