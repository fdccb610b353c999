import { describe, expect, it } from 'vitest';

import {
  changeLayout,
  columnLayout,
  emptyView,
  fieldSortKey,
  firstSortDescending,
  listRequest,
  parseSummaryKey,
  summaryKey,
  nextSort,
  parseSort,
  parseView,
  quoteText,
  viewSearch,
  type ViewState,
} from './view-state';

describe('view state in the URL', () => {
  it('round-trips every part of a view', () => {
    const view: ViewState = {
      q: 'metrics.loss < 1e-3 and name ~ "a&b=c"',
      project: 'sweep "12"',
      status: ['running', 'stale'],
      review: ['unreviewed', 'outdated'],
      sort: '-metrics.loss',
      cols: ['params.optimizer.lr', 'metrics.loss'],
      hide: ['failure', 'params.optimizer.lr'],
      order: ['status', 'name', 'metrics.loss'],
      pin: ['status', 'metrics.loss'],
      density: 'compact',
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
    expect(r).toEqual({ q: '', project: 'p "1"', status: 'failed', review: null, sort: '-name', typedStart: 0, summaries: [] });
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
  it('sorts a new column in its first direction, then flips it', () => {
    expect(nextSort('', 'metrics.loss')).toBe('metrics.loss');
    expect(nextSort('metrics.loss', 'metrics.loss')).toBe('-metrics.loss');
    expect(nextSort('-metrics.loss', 'metrics.loss')).toBe('metrics.loss');
    expect(nextSort('', 'metrics.acc')).toBe('-metrics.acc');
    expect(nextSort('-metrics.acc', 'metrics.acc')).toBe('metrics.acc');
    expect(nextSort('-metrics.loss', 'name')).toBe('name');
    expect(nextSort('name', 'duration')).toBe('-duration');
    expect(nextSort('name', 'created')).toBe('');
    expect(nextSort('', 'created')).toBe('created');
    expect(nextSort('created', 'created')).toBe('');
    expect(parseSort('')).toEqual({ key: 'created', desc: true });
  });
});

describe('first sort direction', () => {
  it.each([
    ['created', true],
    ['updated', true],
    ['duration', true],
    ['name', false],
    ['project', false],
    ['params.lr', false],
    ['params.model.depth', false],
    ['metrics.accuracy', true],
    ['metrics.reward', true],
    ['metrics.loss', false],
    ['metrics.val_loss', false],
    ['metrics.Train/Loss', false],
    ['metrics.top1_err', false],
    ['metrics.error_rate', false],
  ])('%s sorts descending first: %s', (key, desc) => {
    expect(firstSortDescending(key)).toBe(desc);
  });
});

describe('column layout', () => {
  const fixed = ['name', 'project', 'status', 'failure', 'review', 'created', 'duration', 'tags'];

  it('shows the fixed columns then the extra ones, Name pinned, by default', () => {
    const view = parseView(new URLSearchParams('cols=metrics.loss'));
    expect(columnLayout(view)).toEqual({ all: [...fixed, 'metrics.loss'], shown: [...fixed, 'metrics.loss'], pinned: ['name'], pins: ['name'] });
  });

  it('reads no pins from an empty pin parameter and writes it back', () => {
    const view = { ...emptyView, pin: [] };
    expect(viewSearch(view).toString()).toBe('pin=');
    expect(parseView(viewSearch(view)).pin).toEqual([]);
    expect(columnLayout(view).pinned).toEqual([]);
  });

  it('hides and shows a column', () => {
    let view: ViewState = { ...emptyView, cols: ['metrics.loss'] };
    view = { ...view, ...changeLayout(view, { kind: 'show', key: 'project', shown: false }) };
    view = { ...view, ...changeLayout(view, { kind: 'show', key: 'metrics.loss', shown: false }) };
    expect(view.hide).toEqual(['project', 'metrics.loss']);
    expect(columnLayout(view).shown).toEqual(fixed.filter((k) => k !== 'project'));
    expect(viewSearch(view).get('hide')).toBe('project,metrics.loss');
    view = { ...view, ...changeLayout(view, { kind: 'show', key: 'project', shown: true }) };
    expect(view.hide).toEqual(['metrics.loss']);
  });

  it('moves a column within its group and keeps no order when it is back to the default', () => {
    let view: ViewState = { ...emptyView };
    view = { ...view, ...changeLayout(view, { kind: 'move', key: 'tags', by: -1 }) };
    expect(columnLayout(view).shown.slice(-2)).toEqual(['tags', 'duration']);
    expect(viewSearch(view).get('order')).toBe([...fixed.slice(0, 6), 'tags', 'duration'].join(','));
    // Name is pinned: project cannot move before it, nor Name after project.
    expect(changeLayout(view, { kind: 'move', key: 'project', by: -1 }).order).toEqual(view.order);
    expect(changeLayout(view, { kind: 'move', key: 'name', by: 1 }).order).toEqual(view.order);
    view = { ...view, ...changeLayout(view, { kind: 'move', key: 'tags', by: 1 }) };
    expect(view.order).toEqual([]);
    expect(viewSearch(view).toString()).toBe('');
  });

  it('pins a column after the pinned ones and unpins it to the front of the rest', () => {
    let view: ViewState = { ...emptyView, cols: ['metrics.loss'] };
    view = { ...view, ...changeLayout(view, { kind: 'pin', key: 'metrics.loss', pinned: true }) };
    expect(view.pin).toEqual(['name', 'metrics.loss']);
    expect(columnLayout(view).shown.slice(0, 3)).toEqual(['name', 'metrics.loss', 'project']);
    expect(columnLayout(view).pinned).toEqual(['name', 'metrics.loss']);
    view = { ...view, ...changeLayout(view, { kind: 'pin', key: 'name', pinned: false }) };
    expect(columnLayout(view).pinned).toEqual(['metrics.loss']);
    expect(columnLayout(view).shown.slice(0, 3)).toEqual(['metrics.loss', 'name', 'project']);
    const again = parseView(new URL(`/runs?${viewSearch(view).toString()}`, 'http://x').searchParams);
    expect(columnLayout(again)).toEqual(columnLayout(view));
  });

  it('keeps hidden pinned columns out of the pinned ones and ignores unknown keys', () => {
    const view = parseView(new URLSearchParams('hide=name,bogus&pin=name,status,<x>&order=tags,nope'));
    expect(view.hide).toEqual(['name']);
    expect(view.pin).toEqual(['name', 'status']);
    expect(view.order).toEqual(['tags']);
    expect(columnLayout(view).pinned).toEqual(['status']);
    expect(columnLayout(view).shown[0]).toBe('status');
    expect(columnLayout(view).shown[1]).toBe('tags');
  });
});

describe('series summary columns', () => {
  it('writes a summary key as the query language does and reads it back', () => {
    for (const [fn, series, key] of [
      ['last', 'loss', 'last(loss)'],
      ['min', 'val/loss', 'min("val/loss")'],
      ['max', 'a "b" \\ c', 'max("a \\"b\\" \\\\ c")'],
      ['last', 'val.loss', 'last("val.loss")'],
    ] as const) {
      expect(summaryKey(fn, series)).toBe(key);
      expect(parseSummaryKey(key)).toEqual({ fn, series });
    }
    expect(parseSummaryKey('metrics.loss')).toBeNull();
    expect(parseSummaryKey('count(loss)')).toBeNull();
    expect(parseSummaryKey('last(a b)')).toBeNull();
  });

  it('keeps summary columns in the URL and asks the list for their series once', () => {
    const view = parseView(new URLSearchParams('cols=last(loss),min(loss),max(%22val%2Floss%22),median(loss),last(a b)'));
    expect(view.cols).toEqual(['last(loss)', 'min(loss)', 'max("val/loss")']);
    expect(listRequest(view).summaries).toEqual(['loss', 'val/loss']);
    expect(parseView(viewSearch(view)).cols).toEqual(view.cols);
  });

  it('sorts a loss-like summary ascending first, others descending', () => {
    expect(firstSortDescending('min(loss)')).toBe(false);
    expect(firstSortDescending('last("val/err")')).toBe(false);
    expect(firstSortDescending('max(acc)')).toBe(true);
  });

  it('quotes a params or metrics sort key only when the query language needs it', () => {
    expect(fieldSortKey('metrics.loss')).toBe('metrics.loss');
    expect(fieldSortKey('metrics.val.loss')).toBe('metrics.val.loss');
    expect(fieldSortKey('metrics.train/loss')).toBe('metrics."train/loss"');
    expect(fieldSortKey('params.model.opt lr')).toBe('params."model.opt lr"');
  });
});
