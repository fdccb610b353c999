import type { Page, Request } from '@playwright/test';

import { expect, test } from './fixtures';
import {
  accessTokenTtlSeconds,
  createUser,
  liveSessionsElsewhere,
  password,
  refreshUrl,
  signIn,
  signInHeading,
  type TestUser,
} from './support';

const ttlMs = accessTokenTtlSeconds * 1_000;

const overviewHeading = (page: Page) => page.getByRole('heading', { level: 1, name: 'Runs' });

/** openAccount goes to the account page through the navigation and waits for the sessions table (authenticated calls). */
async function openAccount(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Account' })).toBeVisible();
  await expect(page.getByTestId('sessions-table')).toBeVisible();
  await expect(page.getByTestId('sessions-table').getByText('This browser')).toBeVisible();
}

/** isAuthenticated tells whether a request carries a credential: a bearer token, or the refresh cookie endpoints. */
function isAuthenticated(request: Request): boolean {
  const url = new URL(request.url());
  return request.headers()['authorization'] !== undefined || /^\/api\/auth\/(refresh|logout)$/.test(url.pathname);
}

test.describe('sessions in the browser', () => {
  let user: TestUser;

  test.beforeEach(async ({ request }) => {
    user = await createUser(request, 'reviewer');
  });

  test('1a. sign-in leads to the protected page', async ({ page, pageProblems }) => {
    pageProblems.expect(401, refreshUrl, page);
    await page.goto('/account');
    await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);

    await signIn(page, user.email);

    await expect(page).toHaveURL('/account');
    await expect(page.getByRole('group', { name: 'Signed in as' })).toContainText(user.name);
    await expect(page.getByRole('group', { name: 'Signed in as' })).toContainText('Reviewer');
    await expect(page.getByTestId('sessions-table')).toBeVisible();
  });

  test('1b. a wrong password shows a message and stays on sign-in', async ({ page, pageProblems }) => {
    pageProblems.expect(401, refreshUrl, page);
    pageProblems.expect(401, /\/api\/auth\/login$/, page);
    await page.goto('/login');
    await expect(signInHeading(page)).toBeVisible();

    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel(/^Password/).fill('not-my-password-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
    await expect(page).toHaveURL('/login');
    await expect(signInHeading(page)).toBeVisible();
  });

  test('1c. too many failed sign-ins show how long to wait', async ({ page, pageProblems }) => {
    pageProblems.expect(401, refreshUrl, page);
    pageProblems.expect(401, /\/api\/auth\/login$/, page);
    pageProblems.expect(429, /\/api\/auth\/login$/, page);
    await page.goto('/login');
    for (let i = 0; i < 3; i += 1) {
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel(/^Password/).fill(`wrong-password-${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
    }
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect(page.getByRole('alert')).toContainText(/Try again in 1[45] minutes/);
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeDisabled();
  });

  test('2. a reload keeps the session, without a flash of the sign-in form', async ({ page, pageProblems }) => {
    pageProblems.expect(401, refreshUrl, page);
    // The not-found page makes no API call of its own.
    await page.goto('/login?next=%2Fnothing-here');
    await signIn(page, user.email);
    await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();

    // From here on, record whether the sign-in form ever shows, from the first byte of the next document.
    await page.addInitScript(() => {
      const seen = { signIn: false };
      (window as unknown as { __e2eSeen: typeof seen }).__e2eSeen = seen;
      new MutationObserver(() => {
        if (document.querySelector('form[aria-label="Sign in"]') !== null) {
          seen.signIn = true;
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const apiCalls: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/')) {
        apiCalls.push(`${r.method()} ${new URL(r.url()).pathname}`);
      }
    });

    await page.reload();

    await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
    await expect(page.getByRole('group', { name: 'Signed in as' })).toContainText(user.name);
    expect(await page.evaluate(() => (window as unknown as { __e2eSeen: { signIn: boolean } }).__e2eSeen.signIn)).toBe(false);
    expect(apiCalls[0]).toBe('POST /api/auth/refresh');
    await expect(page).toHaveURL('/nothing-here');
  });

  test('3. after three idle access-token lifetimes the next action just works', async ({ page, pageProblems }) => {
    pageProblems.expect(401, refreshUrl, page);
    await page.goto('/login');
    await signIn(page, user.email);
    await expect(overviewHeading(page)).toBeVisible();
    let refreshes = 0;
    page.on('response', (r) => {
      if (refreshUrl.test(r.url()) && r.status() === 200) {
        refreshes += 1;
      }
    });

    // The test must let time pass here: the user is idle.
    await page.waitForTimeout(3 * ttlMs);

    await openAccount(page);
    expect(refreshes).toBeGreaterThanOrEqual(3);
    // Any 401 on the way would fail the test (pageProblems): none reached the user.
  });

  for (const locks of [true, false]) {
    const variant = locks ? 'Web Locks' : 'no Web Locks: server grace window';
    test(`4. two tabs refreshing at the same instant both stay signed in, on one session (${variant})`, async ({
      page,
      context,
      pageProblems,
      request,
    }) => {
      if (!locks) {
        await context.addInitScript(() => {
          Reflect.deleteProperty(Navigator.prototype, 'locks');
        });
      }
      pageProblems.expect(401, refreshUrl, page);
      await page.goto('/login');
      await signIn(page, user.email);
      const tabB = await context.newPage();
      await tabB.goto('/');
      await expect(overviewHeading(tabB)).toBeVisible();
      expect(await tabB.evaluate(() => 'locks' in navigator)).toBe(locks);

      // Record every refresh of both tabs: when it was sent and when it was answered.
      const spans: { tab: string; start: number; end: number; status: number }[] = [];
      for (const [name, tab] of [
        ['A', page],
        ['B', tabB],
      ] as const) {
        tab.on('requestfinished', (r) => {
          if (refreshUrl.test(r.url())) {
            const t = r.timing();
            void r.response().then((res) => {
              spans.push({ tab: name, start: t.startTime, end: t.startTime + t.responseEnd, status: res?.status() ?? 0 });
            });
          }
        });
      }

      let released = false;
      if (!locks) {
        // Without locks, hold refreshes until one from each tab is waiting, then let
        // them reach the server together: the same cookie, at the same instant.
        const waiting: { tab: Page | null; go: () => Promise<void> }[] = [];
        await context.route(refreshUrl, async (route) => {
          if (released) {
            await route.continue();
            return;
          }
          const from = route.request().frame().page();
          waiting.push({ tab: from, go: () => route.continue() });
          if (new Set(waiting.map((w) => w.tab)).size === 2) {
            released = true;
            await Promise.all(waiting.map((w) => w.go()));
          }
        });
      }

      const answered = Promise.all([page.waitForResponse(refreshUrl), tabB.waitForResponse(refreshUrl)]);
      // Force a refresh in both tabs at once ("back online" always refreshes).
      await Promise.all([page, tabB].map((tab) => tab.evaluate(() => window.dispatchEvent(new Event('online')))));
      const [ra, rb] = await answered;
      expect(ra.status()).toBe(200);
      expect(rb.status()).toBe(200);
      if (!locks) {
        expect(released).toBe(true);
        await context.unroute(refreshUrl);
      }

      // Both tabs keep working, with their own tokens.
      await openAccount(page);
      await openAccount(tabB);
      expect(await liveSessionsElsewhere(request, user)).toHaveLength(1);
      expect(spans.every((s) => s.status === 200)).toBe(true);
      if (locks) {
        // Serialised: no refresh of one tab overlaps a refresh of the other.
        const sorted = [...spans].sort((x, y) => x.start - y.start);
        for (let i = 1; i < sorted.length; i += 1) {
          const prev = sorted[i - 1];
          const cur = sorted[i];
          if (prev !== undefined && cur !== undefined && prev.tab !== cur.tab) {
            expect(cur.start, 'refreshes of two tabs overlapped').toBeGreaterThanOrEqual(prev.end - 1);
          }
        }
      }
    });
  }

  test('5. sign-out in tab A shows sign-in in tab B within 2 s, and B sends nothing more', async ({
    page,
    context,
    pageProblems,
  }) => {
    pageProblems.expect(401, refreshUrl, page);
    await page.goto('/login');
    await signIn(page, user.email);
    const tabB = await context.newPage();
    await tabB.goto('/status');
    await expect(tabB.getByRole('heading', { level: 1, name: 'Server status' })).toBeVisible();
    const afterSignOut: string[] = [];
    let signedOut = false;
    tabB.on('request', (r) => {
      if (signedOut && isAuthenticated(r)) {
        afterSignOut.push(`${r.method()} ${r.url()}`);
      }
    });

    signedOut = true;
    await page.getByRole('group', { name: 'Signed in as' }).getByRole('button', { name: 'Sign out' }).click();

    await expect(signInHeading(tabB)).toBeVisible({ timeout: 2_000 });
    await expect(tabB.getByTestId('session-notice')).toContainText('You signed out in another tab.');
    await expect(signInHeading(page)).toBeVisible();
    // Let more than two refresh periods pass: tab B must stay silent.
    await tabB.waitForTimeout(2 * ttlMs);
    expect(afterSignOut).toEqual([]);
  });

  test('6. sign-in in tab A lets tab B, on the sign-in page, continue without typing', async ({
    page,
    context,
    pageProblems,
  }) => {
    pageProblems.expect(401, refreshUrl); // both tabs boot signed out
    await page.goto('/login');
    const tabB = await context.newPage();
    await tabB.goto('/status');
    await expect(signInHeading(tabB)).toBeVisible();
    await expect(tabB).toHaveURL(/\/login\?next=%2Fstatus$/);

    await signIn(page, user.email);

    await expect(tabB.getByRole('heading', { level: 1, name: 'Server status' })).toBeVisible();
    await expect(tabB).toHaveURL('/status');
    await expect(tabB.getByRole('group', { name: 'Signed in as' })).toContainText(user.name);
  });

  test('7. an admin ending the sessions sends the user to sign-in with a message within a token lifetime', async ({
    page,
    pageProblems,
    request,
  }) => {
    pageProblems.expect(401, refreshUrl, page);
    await page.goto('/login');
    await signIn(page, user.email);
    await expect(overviewHeading(page)).toBeVisible();

    // The admin works in another browser.
    const adminContext = await pageProblems.newContext();
    const adminPage = await adminContext.newPage();
    pageProblems.expect(401, refreshUrl, adminPage);
    await adminPage.goto('/admin/users');
    await signIn(adminPage, 'admin@e2e.test');
    const row = adminPage.getByTestId('users-table').locator(`tr[data-user-email="${user.email}"]`);
    await row.getByRole('button', { name: `Actions for ${user.name}` }).click();
    await adminPage.getByRole('menuitem', { name: 'End all sessions…' }).click();
    await adminPage.getByRole('dialog').getByRole('button', { name: 'End sessions' }).click();
    await expect(adminPage.getByRole('status').filter({ hasText: `Every session of ${user.name} was ended.` })).toBeVisible();
    const endedAt = Date.now();

    await expect(page.getByTestId('session-notice')).toContainText('Your session has ended', {
      timeout: ttlMs + 3_000,
    });
    expect(Date.now() - endedAt).toBeLessThan(ttlMs + 3_000);
    await expect(signInHeading(page)).toBeVisible();
    await expect(page.getByTestId('session-notice')).toHaveCount(1);
    expect(await liveSessionsElsewhere(request, user)).toHaveLength(0);
  });

  test('8. after sign-in no token is in web storage, IndexedDB, readable cookies or the URL', async ({
    page,
    pageProblems,
  }) => {
    pageProblems.expect(401, refreshUrl, page);
    await page.goto('/login?next=%2Faccount');
    await signIn(page, user.email);
    await expect(page.getByTestId('sessions-table')).toBeVisible();

    const stored = await page.evaluate(async () => {
      const dump = (s: Storage) => Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i) ?? '')}`);
      return {
        local: dump(window.localStorage),
        session: dump(window.sessionStorage),
        indexedDB: (await indexedDB.databases()).map((d) => d.name),
        cookie: document.cookie,
        url: location.href,
      };
    });
    expect(stored).toEqual({
      local: [],
      session: [],
      indexedDB: [],
      cookie: '',
      url: expect.not.stringMatching(/token|eyJ/) as unknown as string,
    });
  });

  test('9. a tab frozen past the token expiry works again on becoming visible, without sign-in', async ({
    page,
    pageProblems,
  }) => {
    // Visibility emulation: headless Chromium keeps every page "visible", so the
    // page's view of it is overridden and changed by the test, with the event.
    await page.addInitScript(() => {
      let state: DocumentVisibilityState = 'visible';
      Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => state });
      Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => state === 'hidden' });
      (window as unknown as { __e2eSetVisibility: (s: DocumentVisibilityState) => void }).__e2eSetVisibility = (s) => {
        state = s;
        document.dispatchEvent(new Event('visibilitychange'));
      };
    });
    const setVisibility = (s: DocumentVisibilityState) =>
      page.evaluate((v) => {
        (window as unknown as { __e2eSetVisibility: (s: DocumentVisibilityState) => void }).__e2eSetVisibility(v);
      }, s);
    pageProblems.expect(401, refreshUrl, page);
    await page.goto('/login');
    await signIn(page, user.email);
    await expect(overviewHeading(page)).toBeVisible();
    const cdp = await page.context().newCDPSession(page);
    let frozen = false;
    const sentWhileFrozen: string[] = [];
    page.on('request', (r) => {
      if (frozen) {
        sentWhileFrozen.push(r.url());
      }
    });

    await setVisibility('hidden');
    // Page.setWebLifecycleState is sent as a real browser would freeze the tab,
    // but headless Chromium (156) keeps every page visible and so never freezes
    // one (its timers keep running). Pausing the page's JavaScript in the
    // debugger gives the same effect: no timer, no task, no request until resumed.
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    frozen = true;
    // The test must let time pass: past the token's expiry and the server's 5 s leeway.
    await page.waitForTimeout(2 * ttlMs + 2_000);
    frozen = false;
    await cdp.send('Debugger.resume');
    await cdp.send('Debugger.disable');
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await setVisibility('visible');
    expect(sentWhileFrozen, 'a frozen tab sends nothing').toEqual([]);

    await openAccount(page);
    await expect(signInHeading(page)).toBeHidden();
  });
});
