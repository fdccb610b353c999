import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { useLeadingChoice } from './use-leading-choice';

const key = (v: string[]) => v.join(',');

/** A control whose URL lags: `url` is what the URL holds, changed by the test. */
function setup(initial: string[]) {
  return renderHook(({ url }: { url: string[] }) => useLeadingChoice(url, key(url), key), { initialProps: { url: initial } });
}

describe('useLeadingChoice', () => {
  it('counts a second choice from the first while the URL lags, then follows the URL', () => {
    const h = setup(['a', 'b', 'c']);
    expect(h.result.current[0]).toEqual(['a', 'b', 'c']);
    // Backspace twice before the URL moves: each takes one chip off.
    act(() => { h.result.current[1](h.result.current[0].slice(0, -1)); });
    expect(h.result.current[0]).toEqual(['a', 'b']);
    act(() => { h.result.current[1](h.result.current[0].slice(0, -1)); });
    expect(h.result.current[0]).toEqual(['a']);
    // The first navigation lands: the control still shows the last choice.
    h.rerender({ url: ['a', 'b'] });
    expect(h.result.current[0]).toEqual(['a']);
    // The second lands: the URL and the control agree.
    h.rerender({ url: ['a'] });
    expect(h.result.current[0]).toEqual(['a']);
    // From then on the URL leads, back to an earlier value too.
    h.rerender({ url: ['a', 'b', 'c'] });
    expect(h.result.current[0]).toEqual(['a', 'b', 'c']);
  });

  it('gives way to a URL that moves elsewhere while a choice is pending', () => {
    const h = setup(['a', 'b']);
    act(() => { h.result.current[1](['a']); });
    expect(h.result.current[0]).toEqual(['a']);
    // A link or the back button goes somewhere this control never chose.
    h.rerender({ url: ['x'] });
    expect(h.result.current[0]).toEqual(['x']);
  });
});
