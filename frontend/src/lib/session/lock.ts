/**
 * Serialises refreshes across the tabs of one browser. Tabs share the refresh
 * cookie, and the server rotates it on every refresh; two tabs presenting the
 * same cookie at once is what logs people out elsewhere (Supabase, Keycloak…).
 * With the Web Locks API only one tab refreshes at a time, and the next one
 * presents the already-rotated cookie.
 *
 * Without Web Locks (old browsers, or plain-HTTP deployments: the API needs a
 * secure context) each tab still refreshes at most once at a time, timers are
 * jittered, and the server's grace window accepts a cookie replaced less than
 * 10 s ago, which is what two near-simultaneous refreshes present.
 */

/** refreshLockName is the Web Lock every tab takes around a refresh. */
export const refreshLockName = 'labreview-session-refresh';

/**
 * lockWaitLimitMs bounds the wait for the lock. A tab frozen while holding it
 * (a discarded or frozen background tab) must not block the others forever;
 * past this wait the refresh goes ahead unserialised and the grace window covers it.
 */
export const lockWaitLimitMs = 10_000;

function lockManager(): LockManager | undefined {
  // Typed as always present, but absent in old browsers and insecure contexts.
  const nav: Partial<Navigator> = typeof navigator === 'undefined' ? {} : navigator;
  return nav.locks;
}

/** withRefreshLock runs `task` while holding the cross-tab refresh lock (or directly, without Web Locks). */
export async function withRefreshLock<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
  signal.throwIfAborted();
  const locks = lockManager();
  if (locks === undefined) {
    return task();
  }
  const wait = new AbortController();
  const forward = () => {
    wait.abort(signal.reason);
  };
  signal.addEventListener('abort', forward, { once: true });
  const waiting = { timedOut: false };
  const timer = setTimeout(() => {
    waiting.timedOut = true;
    wait.abort(new DOMException('Waited too long for the refresh lock.', 'AbortError'));
  }, lockWaitLimitMs);
  try {
    return await locks.request(refreshLockName, { signal: wait.signal }, () => {
      clearTimeout(timer);
      return task();
    });
  } catch (error) {
    if (waiting.timedOut && !signal.aborted) {
      return await task();
    }
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', forward);
  }
}
