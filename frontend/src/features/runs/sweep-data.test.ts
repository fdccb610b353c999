import { describe, expect, it } from 'vitest';

import { brushMask, buildAxis, categoriesBetween, fromPos, paramValue, toPos, valueOf } from './sweep-data';
import type { Run } from './types';

function run(params: Record<string, unknown>, metrics: Record<string, unknown> = {}): Run {
  return { params, metrics } as unknown as Run;
}

describe('sweep axes', () => {
  it('reads nested and dotted param paths, and finite metrics', () => {
    expect(paramValue({ model: { lr: 1 } }, 'model.lr')).toBe(1);
    expect(paramValue({ 'model.lr': 2 }, 'model.lr')).toBe(2);
    expect(paramValue({ model: { other: 1 } }, 'model.lr')).toBeUndefined();
    expect(valueOf(run({}, { loss: 'NaN' }), 'metrics.loss')).toBeUndefined();
    expect(valueOf(run({}, { loss: 0.5 }), 'metrics.loss')).toBe(0.5);
    expect(valueOf(run({ a: [1] }), 'params.a')).toBeUndefined();
  });

  it('makes a linear axis, a log axis past three decades, and counts the missing', () => {
    const lin = buildAxis([run({ x: 0 }), run({ x: 10 }), run({})], 'params.x');
    expect(lin).toMatchObject({ kind: 'number', log: false, min: 0, max: 10, missing: 1 });
    expect([...lin.pos]).toEqual([0, 1, Number.NaN]);
    const log = buildAxis([run({ lr: 1e-5 }), run({ lr: 1e-3 }), run({ lr: 0.1 })], 'params.lr');
    expect(log.log).toBe(true);
    expect(log.pos[1]).toBeCloseTo(0.5);
    expect(fromPos(log, toPos(log, 1e-3))).toBeCloseTo(1e-3);
    expect(buildAxis([run({ lr: 1e-3 }), run({ lr: 0.1 })], 'params.lr').log).toBe(false);
  });

  it('makes a categorical axis for text, with values in bands', () => {
    const axis = buildAxis([run({ opt: 'sgd' }), run({ opt: 'adam' }), run({ opt: 'sgd' }), run({})], 'params.opt');
    expect(axis).toMatchObject({ kind: 'category', categories: ['adam', 'sgd'], missing: 1 });
    expect([...axis.pos]).toEqual([0.75, 0.25, 0.75, Number.NaN]);
    expect(categoriesBetween(axis, 0.6, 1)).toEqual(['sgd']);
    expect(categoriesBetween(axis, 0.9, 0)).toEqual(['adam', 'sgd']);
  });

  it('marks the runs every brush passes', () => {
    const runs = [run({ lr: 1, opt: 'a' }), run({ lr: 2, opt: 'b' }), run({ opt: 'a' })];
    expect([...brushMask(runs, [])]).toEqual([1, 1, 1]);
    expect([...brushMask(runs, [{ key: 'params.lr', lo: 0, hi: 1.5 }])]).toEqual([1, 0, 0]);
    expect([...brushMask(runs, [{ key: 'params.opt', values: ['a'] }])]).toEqual([1, 0, 1]);
  });
});
