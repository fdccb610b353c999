/**
 * The browser session: the one owner of the access token, its refresh schedule,
 * the cross-tab messages and the refresh lock. Components read its state through
 * `useSession`; the API client asks it for a token and tells it about 401s.
 *
 * The access token lives only in the module-scoped `accessToken` below: never in
 * web storage, IndexedDB, a cookie the page can read, or a URL. The refresh token
 * is an HttpOnly cookie the page never sees. A reload therefore starts without a
 * token, and the boot refresh (`startSession`) gets a new one before protected
 * pages render.
 *
 * Every change that ends a session bumps `generation`; anything asynchronous
 * (a refresh in flight, a timer) checks it before touching state, so after a
 * sign-out nothing can bring the session back.
 */
import { apiBasePath } from '@/config/api';
import { ApiError, errorFromResponse, isAbortError, networkError } from '@/lib/api-error';
import type { components } from '@/types/openapi';

import { openSessionBus, type SessionBus, type SessionEvent } from './bus';
import { decodeAccessClaims } from './jwt';
import { withRefreshLock } from './lock';
import { preRequestMarginMs, refreshDelayMs, retryDelayMs, usableLifetimeMs } from './schedule';

/** SessionStatus: `loading` until the boot refresh has answered. */
export type SessionStatus = 'loading' | 'signed-in' | 'signed-out';

/** SessionNotice says why this tab is signed out, for the sign-in page to explain once. */
export type SessionNotice = 'signed-out' | 'signed-out-elsewhere' | 'signed-out-everywhere' | 'session-ended';

/** SessionUser is who is signed in, read from the access token's claims. */
export interface SessionUser {
  id: string;
  role: string;
  sessionId: string;
}

/** SessionSnapshot is everything components may know about the session (never the token). */
export interface SessionSnapshot {
  status: SessionStatus;
  user: SessionUser | null;
  notice: SessionNotice | null;
  /** The last passing failure while loading (server unreachable at boot), retried in the background. */
  problem: ApiError | null;
}

/** TokenResponse is the server's answer to login, refresh and setup. */
type TokenResponse = components['schemas']['Token'];

/** refreshTimeoutMs bounds one refresh request, so a hung request cannot hold the lock. */
export const refreshTimeoutMs = 15_000;

type RefreshResult = 'ok' | 'ended' | 'transient' | 'aborted';

type Outcome =
  | { kind: 'ok'; body: TokenResponse; sentAt: number }
  | { kind: 'ended' }
  | { kind: 'transient'; error: ApiError };

const initialSnapshot: SessionSnapshot = { status: 'loading', user: null, notice: null, problem: null };

let accessToken: string | null = null;
/** expiresAt: Date.now() value after which the token no longer counts as valid here. */
let expiresAt = 0;
let lifetimeMs = 0;
/** refreshDueAt: when the planned refresh should run (a late timer is caught up on focus/visibility). */
let refreshDueAt = 0;
let generation = 0;
/** loginsSeen counts `login` messages, so a refresh that raced another tab's sign-in is asked again. */
let loginsSeen = 0;
let inFlight: Promise<RefreshResult> | null = null;
let inFlightAbort: AbortController | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let failures = 0;
let lastFailure: ApiError | null = null;
let bus: SessionBus | null = null;
let started = false;
let snapshot: SessionSnapshot = initialSnapshot;
const listeners = new Set<() => void>();

// ---------------------------------------------------------------------------
// State for components

/** subscribeSession registers a listener for snapshot changes (useSyncExternalStore's subscribe). */
export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** getSessionSnapshot returns the current, immutable snapshot. */
export function getSessionSnapshot(): SessionSnapshot {
  return snapshot;
}

function publish(next: Partial<SessionSnapshot>) {
  const merged = { ...snapshot, ...next };
  if (
    merged.status === snapshot.status &&
    merged.user === snapshot.user &&
    merged.notice === snapshot.notice &&
    merged.problem === snapshot.problem
  ) {
    return;
  }
  snapshot = merged;
  for (const listener of [...listeners]) {
    listener();
  }
}

/** clearSessionNotice forgets the sign-out reason once the user has seen or dismissed it. */
export function clearSessionNotice(): void {
  publish({ notice: null });
}

// ---------------------------------------------------------------------------
// Lifecycle

/**
 * startSession boots the session once: listens to the other tabs and to
 * focus/visibility/network events, and asks the server for an access token
 * with the refresh cookie. Protected pages wait for its answer.
 */
export function startSession(): void {
  if (started) {
    return;
  }
  started = true;
  bus = openSessionBus(onBusEvent);
  document.addEventListener('visibilitychange', onVisibilityChange);
  document.addEventListener('resume', catchUp);
  window.addEventListener('focus', catchUp);
  window.addEventListener('pageshow', catchUp);
  window.addEventListener('online', onOnline);
  void refresh();
}

/** stopSession tears everything down and forgets the session (tests, hot reload). */
export function stopSession(): void {
  drop();
  bus?.close();
  bus = null;
  document.removeEventListener('visibilitychange', onVisibilityChange);
  document.removeEventListener('resume', catchUp);
  window.removeEventListener('focus', catchUp);
  window.removeEventListener('pageshow', catchUp);
  window.removeEventListener('online', onOnline);
  started = false;
  loginsSeen = 0;
  snapshot = initialSnapshot;
  for (const listener of [...listeners]) {
    listener();
  }
}

/** drop forgets the token and cancels everything pending. */
function drop() {
  generation += 1;
  accessToken = null;
  expiresAt = 0;
  lifetimeMs = 0;
  refreshDueAt = 0;
  failures = 0;
  lastFailure = null;
  clearTimeout(timer);
  timer = undefined;
  inFlightAbort?.abort();
  inFlightAbort = null;
  inFlight = null;
}

/** end signs this tab out and, when `tell` is given, tells the other tabs. */
function end(notice: SessionNotice | null, tell: SessionEvent | null) {
  drop();
  publish({ status: 'signed-out', user: null, notice, problem: null });
  if (tell !== null) {
    bus?.post(tell);
  }
}

function schedule(delayMs: number) {
  clearTimeout(timer);
  refreshDueAt = Date.now() + delayMs;
  timer = setTimeout(() => {
    timer = undefined;
    void refresh();
  }, delayMs);
}

// ---------------------------------------------------------------------------
// Events

function onBusEvent(event: SessionEvent) {
  switch (event) {
    case 'logout':
      if (snapshot.status !== 'signed-out') {
        end(snapshot.status === 'signed-in' ? 'signed-out-elsewhere' : null, null);
      }
      return;
    case 'login':
      // Signed-out tabs get their own token and continue; signed-in tabs learn
      // who is signed in now (it may be someone else).
      loginsSeen += 1;
      void refresh();
      return;
    case 'session-revoked':
      // Another tab's refresh was refused. Check for ourselves rather than
      // believe it: only the server's answer to this tab ends this tab.
      if (snapshot.status === 'signed-in') {
        void refresh();
      }
      return;
  }
}

function onVisibilityChange() {
  if (document.visibilityState === 'visible') {
    catchUp();
  }
}

/** catchUp runs a refresh whose timer should have fired while the tab was hidden, frozen or asleep. */
function catchUp() {
  if (snapshot.status === 'signed-in' && Date.now() >= refreshDueAt) {
    void refresh();
  } else if (snapshot.status === 'loading' && snapshot.problem !== null) {
    void refresh();
  }
}

function onOnline() {
  // Back on the network: whatever was missed (a refresh, the session ending
  // elsewhere) is found out now.
  if (snapshot.status !== 'signed-out') {
    void refresh();
  }
}

// ---------------------------------------------------------------------------
// Refresh

/**
 * refresh gets a new access token with the refresh cookie. At most one runs per
 * tab (callers share it), and across tabs they take turns (Web Locks).
 */
export function refresh(): Promise<RefreshResult> {
  if (inFlight !== null) {
    return inFlight;
  }
  const controller = new AbortController();
  const p = runRefresh(controller).finally(() => {
    if (inFlight === p) {
      inFlight = null;
      inFlightAbort = null;
    }
  });
  inFlight = p;
  inFlightAbort = controller;
  return p;
}

async function runRefresh(controller: AbortController): Promise<RefreshResult> {
  const gen = generation;
  clearTimeout(timer);
  timer = undefined;
  // One more try when another tab signed in while ours was on the way: the
  // answer may describe the cookie that sign-in replaced.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const logins = loginsSeen;
    let outcome: Outcome;
    try {
      outcome = await withRefreshLock(controller.signal, () => postRefresh(controller.signal));
    } catch (error) {
      if (isAbortError(error) || controller.signal.aborted) {
        return 'aborted';
      }
      outcome = { kind: 'transient', error: error instanceof ApiError ? error : networkError(error) };
    }
    if (gen !== generation) {
      return 'aborted';
    }
    switch (outcome.kind) {
      case 'ok':
        accept(outcome.body, outcome.sentAt);
        return 'ok';
      case 'ended':
        if (loginsSeen !== logins && attempt === 0) {
          continue;
        }
        if (snapshot.status === 'signed-in') {
          end('session-ended', 'session-revoked');
        } else {
          end(snapshot.status === 'loading' ? null : snapshot.notice, null);
        }
        return 'ended';
      case 'transient':
        retryLater(outcome.error);
        return 'transient';
    }
  }
  return 'aborted';
}

async function postRefresh(outer: AbortSignal): Promise<Outcome> {
  const controller = new AbortController();
  const forward = () => {
    controller.abort(outer.reason);
  };
  outer.addEventListener('abort', forward, { once: true });
  const timeout = setTimeout(() => {
    controller.abort(new DOMException('The refresh took too long.', 'TimeoutError'));
  }, refreshTimeoutMs);
  const sentAt = Date.now();
  try {
    let response: Response;
    try {
      response = await fetch(`${apiBasePath}/auth/refresh`, {
        method: 'POST',
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
        signal: controller.signal,
      });
    } catch (error) {
      if (outer.aborted) {
        throw error;
      }
      return { kind: 'transient', error: networkError(error) };
    }
    if (response.status === 401) {
      return { kind: 'ended' };
    }
    if (!response.ok) {
      return { kind: 'transient', error: await errorFromResponse(response) };
    }
    return { kind: 'ok', body: await readTokenResponse(response), sentAt };
  } finally {
    clearTimeout(timeout);
    outer.removeEventListener('abort', forward);
  }
}

async function readTokenResponse(response: Response): Promise<TokenResponse> {
  let body: unknown;
  try {
    body = await response.json();
  } catch (cause) {
    throw invalidTokenResponse(response.status, cause);
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const token = b['access_token'];
  const expiresIn = b['expires_in'];
  if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    throw invalidTokenResponse(response.status);
  }
  return { access_token: token, token_type: String(b['token_type']), expires_in: expiresIn };
}

function invalidTokenResponse(status: number, cause?: unknown): ApiError {
  return new ApiError({
    status,
    code: 'invalid_response',
    message: 'The server sent a sign-in response that could not be read.',
    cause,
  });
}

/** accept takes a new access token: keeps it, plans its refresh, publishes who is signed in. */
function accept(body: TokenResponse, sentAt: number) {
  const claims = decodeAccessClaims(body.access_token);
  accessToken = body.access_token;
  lifetimeMs = usableLifetimeMs(body.expires_in);
  expiresAt = sentAt + lifetimeMs;
  failures = 0;
  lastFailure = null;
  schedule(refreshDelayMs(lifetimeMs, Math.random()));
  const previous = snapshot.user;
  const user =
    claims === null
      ? null
      : previous !== null &&
          previous.id === claims.sub &&
          previous.role === claims.role &&
          previous.sessionId === claims.sid
        ? previous
        : { id: claims.sub, role: claims.role, sessionId: claims.sid };
  publish({
    status: 'signed-in',
    user,
    notice: snapshot.status === 'signed-in' ? snapshot.notice : null,
    problem: null,
  });
}

/**
 * httpsRequiredCode is the server's refusal to sign anyone in over plain HTTP
 * to a host other than localhost. Retrying cannot help (the server's
 * configuration or the address must change), so the problem is shown without
 * a retry loop; a reload, a focus or "Try again" asks again.
 */
export const httpsRequiredCode = 'https_required';

function retryLater(error: ApiError) {
  failures += 1;
  lastFailure = error;
  if (error.code === httpsRequiredCode) {
    clearTimeout(timer);
    timer = undefined;
    publish({ problem: error });
    return;
  }
  const delay =
    error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1_000 : retryDelayMs(failures);
  schedule(delay);
  if (snapshot.status === 'loading') {
    publish({ problem: error });
  }
}

// ---------------------------------------------------------------------------
// For the API client

function unauthenticated(): ApiError {
  return new ApiError({ status: 401, code: 'unauthenticated', message: 'Sign in to continue.' });
}

function tokenIsFresh(): boolean {
  return accessToken !== null && Date.now() < expiresAt - preRequestMarginMs(lifetimeMs);
}

/**
 * getAccessToken returns a token for an API request, refreshing first when the
 * current one expires within a few seconds (or the planned refresh was missed).
 * Rejects without any request when this tab is signed out.
 */
export async function getAccessToken(): Promise<string> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (snapshot.status === 'signed-out') {
      throw unauthenticated();
    }
    if (snapshot.status === 'signed-in' && tokenIsFresh() && accessToken !== null) {
      return accessToken;
    }
    const result = await refresh();
    if (result === 'ok' && accessToken !== null) {
      return accessToken;
    }
    if (result === 'transient') {
      // A passing failure: a token that is still valid is still worth trying.
      if (accessToken !== null && Date.now() < expiresAt) {
        return accessToken;
      }
      throw lastFailure ?? networkError(undefined);
    }
  }
  throw unauthenticated();
}

/**
 * tokenAfterUnauthorized is called when the server answered 401 to `rejected`.
 * It refreshes once (shared with any refresh already running) and returns the
 * new token, or null when there is none: the caller then gives up, it does not
 * ask again. A 401 never signs anyone out by itself; only a refused refresh does.
 */
export async function tokenAfterUnauthorized(rejected: string): Promise<string | null> {
  if (snapshot.status !== 'signed-in') {
    return null;
  }
  if (accessToken !== null && accessToken !== rejected && Date.now() < expiresAt) {
    return accessToken;
  }
  const result = await refresh();
  return result === 'ok' ? accessToken : null;
}

// ---------------------------------------------------------------------------
// Sign-in and sign-out

async function postForToken(path: string, init: RequestInit): Promise<void> {
  const sentAt = Date.now();
  let response: Response;
  try {
    response = await fetch(`${apiBasePath}${path}`, { ...init, method: 'POST', credentials: 'same-origin' });
  } catch (error) {
    throw networkError(error);
  }
  if (!response.ok) {
    throw await errorFromResponse(response);
  }
  const body = await readTokenResponse(response);
  drop();
  accept(body, sentAt);
  bus?.post('login');
}

/** signIn exchanges email and password for a session; rejects with the server's ApiError. */
export function signIn(email: string, password: string): Promise<void> {
  return postForToken('/auth/login', {
    headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: email, password }).toString(),
  });
}

/** SetupInput is the first-run form: the one-time token from the logged link and the first admin. */
export interface SetupInput {
  token: string;
  email: string;
  name: string;
  password: string;
}

/** completeSetup creates the first admin account and signs them in. */
export function completeSetup(input: SetupInput): Promise<void> {
  return postForToken('/setup', {
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  });
}

/**
 * signOut ends the session in every tab of this browser. The local state goes
 * first (token, timers, refreshes in flight) and the other tabs are told, then
 * the server revokes the session; so no timer or late answer can revive it.
 * `tellServer: false` is for callers that already ended it (sign out everywhere).
 */
export async function signOut(options: { notice?: SessionNotice; tellServer?: boolean } = {}): Promise<void> {
  end(options.notice ?? 'signed-out', 'logout');
  if (options.tellServer === false) {
    return;
  }
  try {
    await fetch(`${apiBasePath}/auth/logout`, { method: 'POST', credentials: 'same-origin' });
  } catch {
    // Best effort: the session is gone from every tab here; on the server it
    // ends at its idle expiry, and "sign out everywhere" ends it at once.
  }
}
