import { describe, expect, it } from 'vitest';

import { formatPlotState, parsePlotState, withFlag, type PlotState } from './plot-state';

describe('the plot state in the URL', () => {
  it('reads defaults from a plain run link', () => {
    expect(parsePlotState(new URLSearchParams(''))).toEqual({
      layout: 'small',
      series: null,
      logY: [],
      logX: [],
      x: { kind: 'step' },
    });
    expect(parsePlotState(new URLSearchParams('plot=bogus&x=bogus&xseries=')).x).toEqual({ kind: 'step' });
  });

  it('writes and reads back every choice, names with any character, other params kept', () => {
    const state: PlotState = {
      layout: 'overlay',
      series: ['train/loss', 'a,b&c', 'lr'],
      logY: ['train/loss'],
      logX: ['lr'],
      x: { kind: 'series', name: 'lr' },
    };
    const out = formatPlotState(new URLSearchParams('view=q%3Dx&s=old'), state);
    expect(out.get('view')).toBe('q=x');
    expect(out.getAll('s')).toEqual(['train/loss', 'a,b&c', 'lr']);
    expect(parsePlotState(new URLSearchParams(out.toString()))).toEqual(state);
    const timed = formatPlotState(new URLSearchParams(), { ...state, layout: 'small', x: { kind: 'relative' } });
    expect(timed.toString()).toBe('s=train%2Floss&s=a%2Cb%26c&s=lr&logy=train%2Floss&logx=lr&x=relative');
    expect(parsePlotState(timed).x).toEqual({ kind: 'relative' });
  });

  it('keeps "no series" apart from the default choice', () => {
    const none = formatPlotState(new URLSearchParams(), { ...parsePlotState(new URLSearchParams()), series: [] });
    expect(none.toString()).toBe('s=');
    expect(parsePlotState(none).series).toEqual([]);
  });

  it('leaves defaults out of the URL', () => {
    const plain = formatPlotState(new URLSearchParams('view=&logy=a'), {
      layout: 'small',
      series: null,
      logY: [],
      logX: [],
      x: { kind: 'step' },
    });
    expect(plain.toString()).toBe('view=');
  });

  it('turns a flag on and off for several series at once', () => {
    expect(withFlag(['a'], ['a', 'b'], true)).toEqual(['a', 'b']);
    expect(withFlag(['a', 'b', 'c'], ['a', 'b'], false)).toEqual(['c']);
  });
});
