/**
 * When to refresh the access token. Pure functions of the token's lifetime, so
 * the rules are tested without a clock.
 *
 * Background tabs throttle timers (Chrome up to a minute, Safari was seen at six)
 * and a sleeping laptop stops them, so the refresh is planned with a generous
 * margin before expiry: at least 60 s or 20 % of the lifetime, whichever is
 * larger. For short lifetimes that margin would swallow the whole token, so it
 * is capped at half the lifetime (a 5 s token is refreshed after 2.5 s; 5 min
 * after 4 min; 1 h after 48 min). Focus, visibility and `online` events and a
 * check before each request cover the timers that fire late anyway.
 */

/** minRefreshMarginMs is the smallest margin before expiry for tokens that live long enough to afford it. */
export const minRefreshMarginMs = 60_000;

/** refreshMarginFraction is the share of the lifetime kept as margin when that is more than a minute. */
export const refreshMarginFraction = 0.2;

/** jitterFraction spreads the refreshes of several tabs over the last tenth of the wait. */
export const jitterFraction = 0.1;

/** refreshMarginMs is how long before expiry a token of this lifetime is refreshed. */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(Math.max(minRefreshMarginMs, refreshMarginFraction * lifetimeMs), lifetimeMs / 2);
}

/**
 * refreshDelayMs is how long after receiving a token to refresh it. `random` in
 * [0, 1) pulls the refresh earlier by up to a tenth of the wait, so tabs that
 * signed in together do not refresh in lockstep.
 */
export function refreshDelayMs(lifetimeMs: number, random = 0): number {
  const wait = lifetimeMs - refreshMarginMs(lifetimeMs);
  return Math.max(0, Math.round(wait - wait * jitterFraction * random));
}

/**
 * preRequestMarginMs: a request about to use a token that expires sooner than
 * this refreshes first ("a few seconds", less for very short lifetimes so that
 * not every request refreshes).
 */
export function preRequestMarginMs(lifetimeMs: number): number {
  return Math.min(5_000, lifetimeMs / 4);
}

/**
 * usableLifetimeMs is how long a token counts as valid on this side, measured
 * from the moment its request was sent. `expires_in` is rounded to whole seconds
 * (as is the token's exp), so up to a second is subtracted.
 */
export function usableLifetimeMs(expiresInSeconds: number): number {
  const lifetime = Math.max(1, expiresInSeconds) * 1_000;
  return lifetime - Math.min(1_000, lifetime / 4);
}

/** retryDelayMs is the back-off after a refresh that failed for a passing reason (network, 5xx). */
export function retryDelayMs(failures: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, failures - 1));
}
