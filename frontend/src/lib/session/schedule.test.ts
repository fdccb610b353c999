import { describe, expect, it } from 'vitest';

import { preRequestMarginMs, refreshDelayMs, refreshMarginMs, retryDelayMs, usableLifetimeMs } from './schedule';

describe('refresh schedule', () => {
  it.each([
    // lifetime, margin: max(60 s, 20 %), at most half the lifetime
    [5_000, 2_500],
    [60_000, 30_000],
    [120_000, 60_000],
    [300_000, 60_000],
    [600_000, 120_000],
    [3_600_000, 720_000],
  ])('keeps a margin before expiry for a %i ms token: %i ms', (lifetime, margin) => {
    expect(refreshMarginMs(lifetime)).toBe(margin);
    expect(refreshDelayMs(lifetime)).toBe(lifetime - margin);
  });

  it('never plans later than the margin allows, and jitter only pulls it earlier (by up to 10 %)', () => {
    expect(refreshDelayMs(300_000, 0)).toBe(240_000);
    expect(refreshDelayMs(300_000, 0.5)).toBe(228_000);
    expect(refreshDelayMs(300_000, 0.999)).toBeGreaterThan(216_000);
  });

  it('refreshes before a request only when the token is about to expire', () => {
    expect(preRequestMarginMs(300_000)).toBe(5_000);
    expect(preRequestMarginMs(5_000)).toBe(1_250);
  });

  it('counts a token valid for its expires_in, less the rounding of whole seconds', () => {
    expect(usableLifetimeMs(300)).toBe(299_000);
    expect(usableLifetimeMs(5)).toBe(4_000);
    expect(usableLifetimeMs(1)).toBe(750);
    expect(usableLifetimeMs(0)).toBe(750);
  });

  it('backs off after passing failures, up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(retryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });
});
