import { describe, expect, it } from 'vitest';

import {
  baseQuery,
  brushCondition,
  brushesParam,
  combineQuery,
  fieldName,
  inBrush,
  numberLiteral,
  parseBrushes,
  parseSweep,
  roundEdge,
  setBrush,
  writeSweep,
  type Brush,
} from './sweep-state';

describe('fieldName', () => {
  it('writes plain names bare', () => {
    expect(fieldName('params.lr')).toBe('params.lr');
    expect(fieldName('params.optimizer.name')).toBe('params.optimizer.name');
    expect(fieldName('metrics.loss')).toBe('metrics.loss');
    expect(fieldName('metrics.val.loss')).toBe('metrics.val.loss');
    expect(fieldName('params.warm-up_steps')).toBe('params.warm-up_steps');
  });
  it('quotes the param parts and metric names that need it', () => {
    expect(fieldName('params.model.opt lr')).toBe('params.model."opt lr"');
    expect(fieldName('metrics.train/loss')).toBe('metrics."train/loss"');
    expect(fieldName('metrics.acc@5')).toBe('metrics."acc@5"');
    expect(fieldName('params.say "hi"')).toBe('params."say \\"hi\\""');
  });
});

describe('brushCondition', () => {
  it('turns a range into two comparisons', () => {
    expect(brushCondition({ key: 'params.lr', lo: 0.001, hi: 0.01 })).toBe('params.lr >= 0.001 and params.lr <= 0.01');
    expect(brushCondition({ key: 'metrics.val loss', lo: -1, hi: 2.5 })).toBe(
      'metrics."val loss" >= -1 and metrics."val loss" <= 2.5',
    );
  });
  it('writes numbers the query language reads', () => {
    expect(numberLiteral(1e-7)).toBe('1e-7');
    expect(numberLiteral(2.5e21)).toBe('2.5e21');
    expect(brushCondition({ key: 'params.lr', lo: 1e-7, hi: 1e21 })).toBe('params.lr >= 1e-7 and params.lr <= 1e21');
  });
  it('turns categories into in (…), quoting text, and one category into =', () => {
    expect(brushCondition({ key: 'params.opt', values: ['adam', 'sgd'] })).toBe('params.opt in ("adam", "sgd")');
    expect(brushCondition({ key: 'params.opt', values: ['adam'] })).toBe('params.opt = "adam"');
    expect(brushCondition({ key: 'params.flag', values: [true, false] })).toBe('params.flag in (true, false)');
    expect(brushCondition({ key: 'params.mixed', values: [3, 'x"y'] })).toBe('params.mixed in (3, "x\\"y")');
  });
});

describe('combineQuery and baseQuery', () => {
  const lr: Brush = { key: 'params.lr', lo: 0.001, hi: 0.01 };
  const opt: Brush = { key: 'params.opt', values: ['adam', 'sgd'] };

  it('joins the brushes to an empty query, a plain one and one with or', () => {
    expect(combineQuery('', [lr])).toBe('params.lr >= 0.001 and params.lr <= 0.01');
    expect(combineQuery('status = failed', [lr, opt])).toBe(
      'status = failed and params.lr >= 0.001 and params.lr <= 0.01 and params.opt in ("adam", "sgd")',
    );
    expect(combineQuery('status = failed or tag = x', [opt])).toBe(
      '(status = failed or tag = x) and params.opt in ("adam", "sgd")',
    );
    expect(combineQuery('  name ~ "or"  ', [])).toBe('name ~ "or"');
  });

  it('finds the query the brushes were joined to', () => {
    for (const base of ['', 'status = failed', 'status = failed or tag = x', '(a = 1 or b = 2) and (c = 3 or d = 4)', 'name ~ "x or y"']) {
      for (const brushes of [[lr], [lr, opt], [opt]]) {
        expect(baseQuery(combineQuery(base, brushes), brushes)).toBe(base);
      }
    }
    expect(baseQuery('status = failed', [])).toBe('status = failed');
  });

  it('clearing a brush removes its condition only', () => {
    const q = combineQuery('status = failed', [lr, opt]);
    const base = baseQuery(q, [lr, opt]);
    expect(base).toBe('status = failed');
    expect(combineQuery(base ?? '', setBrush([lr, opt], 'params.lr', null))).toBe(
      'status = failed and params.opt in ("adam", "sgd")',
    );
    expect(combineQuery(base ?? '', setBrush([lr], 'params.lr', null))).toBe('status = failed');
  });

  it('says null when the query was edited since the brushes were set', () => {
    expect(baseQuery('status = failed', [lr])).toBeNull();
    expect(baseQuery('params.lr >= 0.002 and params.lr <= 0.01', [lr])).toBeNull();
  });
});

describe('the URL', () => {
  it('reads and writes the axes, the scatter and the brushes', () => {
    const search = new URLSearchParams('q=x&view=sweep&sweep=params.lr,params.opt,metrics.loss,bogus&sx=params.lr&sy=metrics.loss');
    const state = parseSweep(search);
    expect(state).toEqual({
      open: true,
      axes: ['params.lr', 'params.opt', 'metrics.loss'],
      x: 'params.lr',
      y: 'metrics.loss',
      brushes: [],
    });
    const brushes: Brush[] = [
      { key: 'params.lr', lo: 0.001, hi: 0.01 },
      { key: 'params.opt', values: ['adam', 3, true] },
    ];
    const written = writeSweep(search, { ...state, brushes });
    expect(written.get('q')).toBe('x');
    expect(parseSweep(written)).toEqual({ ...state, brushes });
    const closed = writeSweep(written, { open: false, axes: [], x: null, y: null, brushes: [] });
    expect(closed.toString()).toBe('q=x');
  });

  it('ignores malformed brushes', () => {
    expect(parseBrushes('not json')).toEqual([]);
    expect(parseBrushes('{"k":"params.lr"}')).toEqual([]);
    expect(
      parseBrushes(
        JSON.stringify([
          { k: 'params.lr', lo: 2, hi: 1 },
          { k: 'name', lo: 0, hi: 1 },
          { k: 'params.a', v: [] },
          { k: 'params.b', v: [{}] },
          { k: 'params.c', lo: 0, hi: 1 },
          { k: 'params.c', lo: 5, hi: 6 },
        ]),
      ),
    ).toEqual([{ key: 'params.c', lo: 0, hi: 1 }]);
    expect(parseBrushes(brushesParam([{ key: 'metrics.x', lo: -1, hi: 1 }]))).toEqual([{ key: 'metrics.x', lo: -1, hi: 1 }]);
  });
});

describe('inBrush and roundEdge', () => {
  it('tests values against a brush', () => {
    expect(inBrush({ key: 'params.lr', lo: 1, hi: 2 }, 1)).toBe(true);
    expect(inBrush({ key: 'params.lr', lo: 1, hi: 2 }, 2.5)).toBe(false);
    expect(inBrush({ key: 'params.lr', lo: 1, hi: 2 }, undefined)).toBe(false);
    expect(inBrush({ key: 'params.lr', lo: 1, hi: 2 }, '1.5')).toBe(false);
    expect(inBrush({ key: 'params.o', values: ['a', 1] }, 'a')).toBe(true);
    expect(inBrush({ key: 'params.o', values: ['a', 1] }, '1')).toBe(false);
  });
  it('rounds dragged edges outwards to four digits of the span', () => {
    expect(roundEdge(0.0123456, 1, false)).toBe(0.012);
    expect(roundEdge(0.0123456, 1, true)).toBe(0.013);
    expect(roundEdge(0.30000000000000004, 0.5, false)).toBe(0.3);
    expect(roundEdge(1234.5678, 10000, true)).toBe(1240);
    expect(roundEdge(1234.5678, 1234.5678, false)).toBe(1234);
  });
});

describe('sweep-url', () => {
  it('toggles the panel, dropping the brushes on close, and keeps the sweep across view changes', async () => {
    const { keepSweep, sweepOpen, toggleSweep } = await import('./sweep-url');
    const open = toggleSweep(new URLSearchParams('q=x&sweep=params.lr'));
    expect(sweepOpen(open)).toBe(true);
    expect(open.toString()).toBe('q=x&sweep=params.lr&view=sweep');
    const withBrush = new URLSearchParams(open);
    withBrush.set('brush', '[]');
    expect(toggleSweep(withBrush).toString()).toBe('q=x&sweep=params.lr');
    expect(keepSweep(new URLSearchParams('q=y'), withBrush).toString()).toBe('q=y&view=sweep&sweep=params.lr&brush=%5B%5D');
  });
});
