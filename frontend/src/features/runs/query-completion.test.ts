import { describe, expect, it } from 'vitest';

import { applySuggestion, complete, knownKeys, namePrefix, paramPaths } from './query-completion';

const source = {
  params: ['lr', 'optimizer.name', 'odd key'],
  metrics: ['loss', 'acc'],
  series: ['loss', 'val loss'],
  projects: ['sweep-12', 'sweep 13', 'other'],
};

const labels = (text: string, cursor = text.length) => complete(text, cursor, source).map((s) => s.label);

describe('query completion', () => {
  it('offers every field at the start, params and metrics included', () => {
    const all = labels('');
    expect(all).toContain('project');
    expect(all).toContain('status');
    expect(labels('met')).toEqual(['metrics.loss', 'metrics.acc']);
    expect(labels('params.o')).toEqual(['params.optimizer.name']);
  });

  it('leaves out names the query language cannot write bare', () => {
    expect(labels('params.')).not.toContain('params.odd key');
  });

  it('offers fields after and, or, not and an opening parenthesis', () => {
    expect(labels('status = running and pro')).toEqual(['project']);
    expect(labels('(rev')).toEqual(['review', 'reviewer']);
    expect(labels('not sta')).toEqual(['status', 'started']);
  });

  it('offers values of status, review and project after their operator and inside in lists', () => {
    expect(labels('status = ')).toEqual(['queued', 'running', 'stale', 'succeeded', 'failed', 'cancelled']);
    expect(labels('status = s')).toEqual(['stale', 'succeeded']);
    expect(labels('review in (approved, ')).toContain('outdated');
    expect(labels('project = sw')).toEqual(['sweep-12', 'sweep 13']);
    expect(labels('project = "sweep ')).toEqual(['sweep 13']);
  });

  it('offers nothing where neither a field nor a known value goes', () => {
    expect(labels('metrics.loss < ')).toEqual([]);
    expect(labels('status ')).toEqual([]);
    expect(labels('name = "abc')).toEqual([]);
  });

  it('quotes values that need it and keeps the text after the cursor', () => {
    const s = complete('project = sw and status = failed', 12, source).find((x) => x.label === 'sweep 13');
    if (s === undefined) {
      throw new Error('no suggestion for sweep 13');
    }
    const applied = applySuggestion('project = sw and status = failed', s);
    expect(applied.text).toBe('project = "sweep 13" and status = failed');
    expect(applied.cursor).toBe('project = "sweep 13" '.length);
  });

  it('completes a field in the middle of a query', () => {
    const text = 'status = failed and metr';
    const first = complete(text, text.length, source)[0];
    if (first === undefined) {
      throw new Error('no suggestion');
    }
    expect(applySuggestion(text, first).text).toBe('status = failed and metrics.loss ');
  });

  it('lists the leaf paths of nested params', () => {
    expect([...paramPaths({ lr: 1, model: { layers: [64], act: { name: 'relu' } } })]).toEqual([
      'lr',
      'model.layers',
      'model.act.name',
    ]);
  });

  it('offers the summaries of series, quoting names that need it, and series names inside min( and its kin', () => {
    expect(labels('mi')).toEqual(['min(loss)', 'min("val loss")']);
    expect(labels('last(')).toEqual(['loss', 'val loss']);
    expect(labels('count(v')).toEqual(['val loss']);
    expect(labels('max("val')).toEqual(['val loss']);
    const text = 'last(v';
    const s = complete(text, text.length, source)[0];
    if (s === undefined) {
      throw new Error('no suggestion');
    }
    expect(applySuggestion(text, s).text).toBe('last("val loss") ');
  });

  it('says which name is being typed, for the server when its list was cut short', () => {
    expect(namePrefix('params.opt', 10)).toBe('opt');
    expect(namePrefix('status = failed and metrics.lo', 30)).toBe('lo');
    expect(namePrefix('min(va', 6)).toBe('va');
    expect(namePrefix('last("val l', 11)).toBe('val l');
    expect(namePrefix('last(', 5)).toBe('');
    expect(namePrefix('status = f', 10)).toBeNull();
    expect(namePrefix('params.opt ', 11)).toBeNull();
  });
});

describe('known keys', () => {
  it("merges the server's names with the loaded runs', each kind sorted and once", () => {
    const server = { params: ['deep.only_on_server', 'lr'], metrics: ['val_acc'], series: ['val loss'], truncated: false };
    const loaded = { params: ['lr', 'batch'], metrics: ['loss'] };
    const keys = knownKeys(server, undefined, loaded);
    expect(keys).toEqual({
      params: ['batch', 'deep.only_on_server', 'lr'],
      metrics: ['loss', 'val_acc'],
      series: ['val loss'],
    });
    const merged = { ...keys, projects: [] };
    expect(complete('params.d', 8, merged).map((s) => s.label)).toEqual(['params.deep.only_on_server']);
    expect(complete('metrics.', 8, merged).map((s) => s.label)).toEqual(['metrics.loss', 'metrics.val_acc']);
  });
});
