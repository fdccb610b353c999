import { describe, expect, it } from 'vitest';

import { emptyView, listRequest, nextSort, parseSort, parseView, quoteText, viewSearch, type ViewState } from './view-state';

describe('view state in the URL', () => {
  it('round-trips every part of a view', () => {
    const view: ViewState = {
      q: 'metrics.loss < 1e-3 and name ~ "a&b=c"',
      project: 'sweep "12"',
      status: ['running', 'stale'],
      review: ['unreviewed', 'outdated'],
      sort: '-metrics.loss',
      cols: ['params.optimizer.lr', 'metrics.loss'],
    };
    const url = `/runs?${viewSearch(view).toString()}`;
    expect(parseView(new URL(url, 'http://x').searchParams)).toEqual(view);
  });

  it('writes nothing for the default view and reads it back', () => {
    expect(viewSearch(emptyView).toString()).toBe('');
    expect(parseView(new URLSearchParams())).toEqual(emptyView);
  });

  it('drops unknown chips and malformed columns from a hand-edited link', () => {
    const v = parseView(new URLSearchParams('status=running,done,running&review=meh&cols=params.a,<b>,metrics.c'));
    expect(v.status).toEqual(['running']);
    expect(v.review).toEqual([]);
    expect(v.cols).toEqual(['params.a', 'metrics.c']);
  });
});

describe('list request', () => {
  it('sends the project and one status or review as parameters, so totals stay exact', () => {
    const r = listRequest({ ...emptyView, project: 'p "1"', status: ['failed'], sort: '-name' });
    expect(r).toEqual({ q: '', project: 'p "1"', status: 'failed', review: null, sort: '-name', typedStart: 0 });
    expect(listRequest({ ...emptyView, review: ['outdated'] })).toMatchObject({ q: '', review: 'outdated', status: null });
  });

  it('puts further chips into the query after the typed part, so error columns map back', () => {
    const r = listRequest({ ...emptyView, q: 'metrics.loss <', project: 'p', status: ['failed', 'stale'] });
    expect(r.q).toBe('(metrics.loss <) and status in (failed, stale)');
    expect(r.project).toBe('p');
    expect(r.typedStart).toBe(1);
    // The server takes a status or a review parameter, not both.
    const both = listRequest({ ...emptyView, status: ['running'], review: ['approved'] });
    expect(both).toMatchObject({ status: 'running', review: null, q: 'review in (approved)' });
  });

  it('sends the typed query alone', () => {
    expect(listRequest({ ...emptyView, q: 'tag = x' })).toMatchObject({ q: 'tag = x', typedStart: 0 });
    expect(listRequest(emptyView)).toMatchObject({ q: '', project: null, status: null, review: null });
  });

  it('quotes project names with quotes and backslashes', () => {
    expect(quoteText('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

describe('sorting by column headers', () => {
  it('sorts a new column descending, then flips it', () => {
    expect(nextSort('', 'metrics.loss')).toBe('-metrics.loss');
    expect(nextSort('-metrics.loss', 'metrics.loss')).toBe('metrics.loss');
    expect(nextSort('metrics.loss', 'metrics.loss')).toBe('-metrics.loss');
    expect(nextSort('', 'created')).toBe('created');
    expect(nextSort('created', 'created')).toBe('');
    expect(parseSort('')).toEqual({ key: 'created', desc: true });
  });
});
