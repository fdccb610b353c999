import { describe, expect, it } from 'vitest';

import { applySuggestion, complete, paramPaths } from './query-completion';

const source = {
  params: ['lr', 'optimizer.name', 'odd key'],
  metrics: ['loss', 'acc'],
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
});
