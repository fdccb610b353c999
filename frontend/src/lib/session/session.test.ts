import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { errorResponse, makeAccessToken, tokenResponse } from '@/testing/fake-auth';
import { FakeBroadcastChannel } from '@/testing/fake-broadcast-channel';
import { installFakeLocks } from '@/testing/fake-locks';
import { requestKey } from '@/testing/http';

type SessionModule = typeof import('./session');

/**
 * AuthServer fakes the refresh-cookie endpoints for every "tab" of the test:
 * they share it, as tabs share the cookie jar. Refreshes can be held to see
 * what runs concurrently; `live` is read when a request arrives.
 */
class AuthServer {
  live = true;
  expiresIn = 300;
  user = 'u1';
  sid = 's1';
  issued = 0;
  hold = false;
  /** Answers queued for the next refreshes, before the default one. */
  next: (() => Response | Promise<Response>)[] = [];
  log: { key: string; bus: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private held: (() => void)[] = [];

  fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const key = requestKey(input, init);
    this.log.push({ key, bus: FakeBroadcastChannel.posted.length });
    if (key === 'POST /api/auth/logout') {
      this.live = false;
      return new Response(null, { status: 204 });
    }
    if (key !== 'POST /api/auth/refresh') {
      return errorResponse(404, 'not_found');
    }
    expect(init?.body ?? null).toBeNull();
    expect(init?.credentials).toBe('same-origin');
    const liveOnArrival = this.live;
    const scripted = this.next.shift();
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.hold) {
        await new Promise<void>((resolve, reject) => {
          this.held.push(resolve);
          init?.signal?.addEventListener('abort', () => {
            reject(new DOMException('The operation was aborted.', 'AbortError'));
          });
        });
      }
      if (scripted !== undefined) {
        return await scripted();
      }
      if (!liveOnArrival) {
        return errorResponse(401, 'invalid_refresh_token');
      }
      this.issued += 1;
      return tokenResponse(
        makeAccessToken({ sub: this.user, role: 'reviewer', sid: this.sid, jti: `t${this.issued}` }),
        this.expiresIn,
      );
    } finally {
      this.inFlight -= 1;
    }
  });

  release() {
    this.hold = false;
    const held = this.held;
    this.held = [];
    held.forEach((r) => {
      r();
    });
  }

  count(key = 'POST /api/auth/refresh'): number {
    return this.log.filter((l) => l.key === key).length;
  }
}

const tabs: SessionModule[] = [];

/** openTab loads a fresh copy of the session module: its own module state, like another tab. */
async function openTab(): Promise<SessionModule> {
  vi.resetModules();
  const tab = await import('./session');
  tabs.push(tab);
  return tab;
}

function busEvents(): string[] {
  return FakeBroadcastChannel.posted.map((m) => (m.data as { type: string }).type);
}

const flush = () => vi.advanceTimersByTimeAsync(0);

let server: AuthServer;

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0);
  server = new AuthServer();
  vi.stubGlobal('fetch', server.fetch);
});

afterEach(() => {
  for (const tab of tabs.splice(0)) {
    tab.stopSession();
  }
  vi.useRealTimers();
});

async function signedInTab(): Promise<SessionModule> {
  const tab = await openTab();
  tab.startSession();
  await flush();
  expect(tab.getSessionSnapshot().status).toBe('signed-in');
  return tab;
}

describe('boot', () => {
  it('asks once with the cookie and no body, and publishes who is signed in but never the token', async () => {
    const tab = await openTab();
    expect(tab.getSessionSnapshot().status).toBe('loading');

    tab.startSession();
    tab.startSession();
    await flush();

    expect(server.count()).toBe(1);
    const snapshot = tab.getSessionSnapshot();
    expect(snapshot).toEqual({
      status: 'signed-in',
      user: { id: 'u1', role: 'reviewer', sessionId: 's1' },
      notice: null,
      problem: null,
    });
    expect(JSON.stringify(snapshot)).not.toMatch(/eyJ/);
    expect(busEvents()).toEqual([]);
  });

  it('is signed out after a 401, without a notice and without telling other tabs', async () => {
    server.live = false;
    const tab = await openTab();
    tab.startSession();
    await flush();

    expect(tab.getSessionSnapshot()).toMatchObject({ status: 'signed-out', notice: null });
    expect(busEvents()).toEqual([]);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(server.count()).toBe(1);
  });

  it('retries a server it cannot reach, showing the problem meanwhile', async () => {
    server.next.push(() => Promise.reject(new TypeError('Failed to fetch')));
    const tab = await openTab();
    tab.startSession();
    await flush();

    expect(tab.getSessionSnapshot().status).toBe('loading');
    expect(tab.getSessionSnapshot().problem?.code).toBe('network_error');

    await vi.advanceTimersByTimeAsync(1_000);

    expect(tab.getSessionSnapshot()).toMatchObject({ status: 'signed-in', problem: null });
    expect(server.count()).toBe(2);
  });

  it('does not retry a refusal over plain HTTP, and asks again only when told to', async () => {
    server.next.push(() => errorResponse(403, 'https_required', 'Sign-in over plain HTTP works only at localhost.'));
    const tab = await openTab();
    tab.startSession();
    await flush();

    expect(tab.getSessionSnapshot().status).toBe('loading');
    expect(tab.getSessionSnapshot().problem).toMatchObject({ code: 'https_required', status: 403 });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(server.count()).toBe(1);

    await tab.refresh();
    expect(tab.getSessionSnapshot()).toMatchObject({ status: 'signed-in', problem: null });
    expect(server.count()).toBe(2);
  });
});

describe('scheduling', () => {
  it('refreshes a 5-minute token 60 s before it expires', async () => {
    await signedInTab();
    // usable lifetime 299 s (expires_in is whole seconds), margin 60 s.
    await vi.advanceTimersByTimeAsync(238_999);
    expect(server.count()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.count()).toBe(2);
    await vi.advanceTimersByTimeAsync(239_000);
    expect(server.count()).toBe(3);
  });

  it('refreshes a 5-second token after half of it', async () => {
    server.expiresIn = 5;
    await signedInTab();
    await vi.advanceTimersByTimeAsync(1_999);
    expect(server.count()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.count()).toBe(2);
  });

  it.each([
    ['focus', () => window.dispatchEvent(new Event('focus'))],
    ['visibilitychange → visible', () => document.dispatchEvent(new Event('visibilitychange'))],
    ['resume (unfrozen)', () => document.dispatchEvent(new Event('resume'))],
  ])('catches up on %s when the timer fired late', async (_name, fire) => {
    await signedInTab();
    // The clock moves on but the tab's timers did not run (throttled, frozen, asleep).
    vi.setSystemTime(Date.now() + 250_000);

    fire();
    await flush();

    expect(server.count()).toBe(2);
  });

  it('does not refresh on focus while the token is not due', async () => {
    await signedInTab();
    await vi.advanceTimersByTimeAsync(10_000);

    window.dispatchEvent(new Event('focus'));
    await flush();

    expect(server.count()).toBe(1);
  });

  it('refreshes when the network comes back', async () => {
    await signedInTab();
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(server.count()).toBe(2);
  });

  it('waits as long as Retry-After says after a 429, and stays signed in', async () => {
    const tab = await signedInTab();
    server.next.push(() => errorResponse(429, 'too_many_requests', 'Slow down.', { 'Retry-After': '10' }));
    await vi.advanceTimersByTimeAsync(239_000);
    expect(server.count()).toBe(2);

    await vi.advanceTimersByTimeAsync(9_999);
    expect(server.count()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.count()).toBe(3);
    expect(tab.getSessionSnapshot().status).toBe('signed-in');
  });

  it('refreshes before a request whose token is about to expire', async () => {
    const tab = await signedInTab();
    vi.setSystemTime(Date.now() + 296_000);

    const token = await tab.getAccessToken();

    expect(server.count()).toBe(2);
    expect(token).toMatch(/^eyJ/);
  });
});

describe('single flight', () => {
  it('runs at most one refresh per tab, shared by every caller', async () => {
    const tab = await signedInTab();
    server.hold = true;
    vi.setSystemTime(Date.now() + 300_000);

    const results = Promise.all([tab.refresh(), tab.refresh(), tab.getAccessToken(), tab.getAccessToken()]);
    window.dispatchEvent(new Event('focus'));
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(server.inFlight).toBe(1);
    server.release();
    await results;

    expect(server.count()).toBe(2);
  });

  it('makes tabs take turns through Web Locks, so their refreshes never overlap', async () => {
    const locks = installFakeLocks();
    const a = await signedInTab();
    const b = await signedInTab();
    server.hold = true;

    const both = Promise.all([a.refresh(), b.refresh()]);
    await flush();
    expect(server.inFlight).toBe(1);
    server.release();
    server.hold = true;
    await flush();
    expect(server.inFlight).toBe(1);
    server.release();

    await expect(both).resolves.toEqual(['ok', 'ok']);
    expect(server.maxInFlight).toBe(1);
    expect(locks.maxConcurrent).toBe(1);
    expect(a.getSessionSnapshot().status).toBe('signed-in');
    expect(b.getSessionSnapshot().status).toBe('signed-in');
  });

  it('without Web Locks, still sends one refresh per tab (the server grace window covers the overlap)', async () => {
    const a = await signedInTab();
    const b = await signedInTab();
    server.hold = true;

    const both = Promise.all([a.refresh(), a.refresh(), b.refresh(), b.refresh()]);
    await flush();
    expect(server.inFlight).toBe(2);
    server.release();

    await expect(both).resolves.toEqual(['ok', 'ok', 'ok', 'ok']);
  });
});

describe('ending the session', () => {
  it('ends once when the server refuses the refresh: notice, other tabs told, nothing scheduled', async () => {
    const tab = await signedInTab();
    server.live = false;

    await vi.advanceTimersByTimeAsync(239_000);

    expect(tab.getSessionSnapshot()).toMatchObject({ status: 'signed-out', notice: 'session-ended', user: null });
    expect(busEvents()).toEqual(['session-revoked']);
    const requests = server.log.length;
    await vi.advanceTimersByTimeAsync(3_600_000);
    window.dispatchEvent(new Event('focus'));
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(server.log.length).toBe(requests);
  });

  it('signs out in order: local state first, then the other tabs, then the server', async () => {
    const tab = await signedInTab();
    server.hold = true;
    vi.setSystemTime(Date.now() + 300_000);
    const inFlight = tab.refresh();
    await flush();
    expect(server.inFlight).toBe(1);

    const done = tab.signOut();
    // Synchronously: no token, the refresh aborted, the other tabs told.
    expect(tab.getSessionSnapshot()).toMatchObject({ status: 'signed-out', notice: 'signed-out' });
    await expect(inFlight).resolves.toBe('aborted');
    await done;

    expect(server.inFlight).toBe(0);
    const logout = server.log.find((l) => l.key === 'POST /api/auth/logout');
    expect(logout?.bus).toBe(1);
    expect(busEvents()).toEqual(['logout']);
  });

  it('lets no timer, retry or late answer bring the session back after sign-out', async () => {
    const tab = await signedInTab();
    server.hold = true;
    vi.setSystemTime(Date.now() + 300_000);
    void tab.refresh();
    await flush();

    await tab.signOut();
    server.live = true; // even if the server would still say yes
    server.release();
    await vi.advanceTimersByTimeAsync(3_600_000);
    window.dispatchEvent(new Event('focus'));
    window.dispatchEvent(new Event('online'));
    await flush();

    expect(tab.getSessionSnapshot().status).toBe('signed-out');
    await expect(tab.getAccessToken()).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(server.count()).toBe(2);
  });

  it('does not end the session for a 401 on a data request when the refresh works', async () => {
    const tab = await signedInTab();
    const rejected = await tab.getAccessToken();

    const next = await tab.tokenAfterUnauthorized(rejected);

    expect(next).not.toBeNull();
    expect(next).not.toBe(rejected);
    expect(tab.getSessionSnapshot().status).toBe('signed-in');
    expect(busEvents()).toEqual([]);
  });
});

describe('across tabs', () => {
  it('sign-out in one tab signs out the others at once, and they send nothing more', async () => {
    const a = await signedInTab();
    const b = await signedInTab();
    const before = server.log.length;

    await a.signOut();

    expect(b.getSessionSnapshot()).toMatchObject({ status: 'signed-out', notice: 'signed-out-elsewhere' });
    await vi.advanceTimersByTimeAsync(3_600_000);
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(server.log.slice(before).map((l) => l.key)).toEqual(['POST /api/auth/logout']);
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('sign-in in one tab lets a tab on the sign-in page continue with its own refresh', async () => {
    server.live = false;
    const a = await openTab();
    a.startSession();
    const b = await openTab();
    b.startSession();
    await flush();
    expect(b.getSessionSnapshot().status).toBe('signed-out');

    server.live = true;
    server.sid = 's2';
    // What a.signIn() does, without a login endpoint: the other tabs hear 'login'.
    new FakeBroadcastChannel('labreview-session').postMessage({ type: 'login', nonce: '1' });
    await flush();

    expect(b.getSessionSnapshot()).toMatchObject({ status: 'signed-in', user: { sessionId: 's2' } });
    expect(a.getSessionSnapshot().status).toBe('signed-in');
    expect(server.count()).toBe(4);
  });

  it('checks for itself when another tab reports the session ended', async () => {
    const a = await signedInTab();
    const b = await signedInTab();
    server.next.push(() => errorResponse(401, 'invalid_refresh_token'));

    await a.refresh();
    expect(a.getSessionSnapshot().status).toBe('signed-out');
    await flush();

    // b asked the server, which still knows the session (the 401 was a's alone).
    expect(server.count()).toBe(4);
    expect(b.getSessionSnapshot().status).toBe('signed-in');
  });

  it('follows another tab into the end of a revoked session', async () => {
    const a = await signedInTab();
    const b = await signedInTab();
    server.live = false;

    await a.refresh();
    await flush();

    expect(b.getSessionSnapshot()).toMatchObject({ status: 'signed-out', notice: 'session-ended' });
    expect(busEvents()).toEqual(['session-revoked', 'session-revoked']);
  });

  it('asks again when another tab signed in while its refresh was on the way', async () => {
    const a = await signedInTab();
    server.hold = true;
    server.live = false; // the old session was revoked…
    const pending = a.refresh();
    await flush();

    server.live = true; // …and another tab signed in with a new cookie
    new FakeBroadcastChannel('labreview-session').postMessage({ type: 'login', nonce: '2' });
    server.release();

    await expect(pending).resolves.toBe('ok');
    expect(a.getSessionSnapshot().status).toBe('signed-in');
    expect(busEvents()).toEqual(['login']);
  });
});
