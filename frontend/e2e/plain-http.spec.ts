import { chromium, expect, test } from '@playwright/test';

import { chromiumArgs, chromiumPath } from './browser';

/**
 * A scientist opens the lab server by its name from a laptop, over plain
 * HTTP. The server refuses sign-in there (the session cookie would travel
 * unprotected); the page must say so and how to fix it, not "Cannot reach
 * the server … Retrying automatically" for ever.
 *
 * Chromium maps the lab host name to the test server's loopback address, so
 * the browser sends `Host: labserver.test` as it would from another machine,
 * and no traffic leaves this one.
 */
test('over plain HTTP to a lab host name, the page says sign-in needs HTTPS and does not retry in a loop', async ({
  baseURL,
}) => {
  const port = new URL(baseURL ?? '').port;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [...chromiumArgs, '--host-resolver-rules=MAP labserver.test 127.0.0.1'],
  });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    let refreshes = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/auth/refresh') {
        refreshes += 1;
      }
    });

    await page.goto(`http://labserver.test:${port}/runs`);
    const alert = page.getByRole('alert');
    await expect(alert).toContainText('Sign-in needs HTTPS at this address');
    await expect(alert).toContainText('works only at localhost');
    await expect(alert).toContainText('server.tls.mode: self-signed');
    await expect(alert).not.toContainText('Cannot reach the server');
    await expect(alert).not.toContainText('Retrying');
    expect(refreshes).toBe(1);

    // The transient-failure loop would have asked again within a few seconds.
    await page.waitForTimeout(4_000);
    expect(refreshes).toBe(1);

    // Asking again on request gets the same answer.
    await alert.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => refreshes).toBe(2);
    await expect(alert).toContainText('Sign-in needs HTTPS at this address');
    expect(pageErrors).toEqual([]);
  } finally {
    await browser.close();
  }
});
