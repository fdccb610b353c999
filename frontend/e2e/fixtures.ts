import { test as base, expect } from '@playwright/test';

/** CspViolation is what the page reports for each `securitypolicyviolation` event. */
interface CspViolation {
  documentURI: string;
  violatedDirective: string;
  blockedURI: string;
  sample: string;
}

interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  cspViolations: CspViolation[];
}

const reportCspViolation = '__labreviewReportCspViolation';

/**
 * test is Playwright's test with one automatic fixture: every test fails if the
 * page logged a console error, threw, had a request fail or answered >= 400, or
 * violated the Content-Security-Policy — in any document the test visited.
 */
export const test = base.extend<{ pageProblems: PageProblems }>({
  pageProblems: [
    async ({ page }, use) => {
      const problems: PageProblems = { consoleErrors: [], pageErrors: [], failedRequests: [], cspViolations: [] };

      page.on('console', (message) => {
        if (message.type() === 'error') {
          problems.consoleErrors.push(`${message.text()} (${message.location().url})`);
        }
      });
      page.on('pageerror', (error) => {
        problems.pageErrors.push(error.stack ?? error.message);
      });
      page.on('requestfailed', (request) => {
        problems.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
      });
      page.on('response', (response) => {
        if (response.status() >= 400) {
          problems.failedRequests.push(`${response.request().method()} ${response.url()}: HTTP ${response.status()}`);
        }
      });

      // The binding outlives navigations, so violations from every document count.
      await page.exposeFunction(reportCspViolation, (violation: CspViolation) => {
        problems.cspViolations.push(violation);
      });
      await page.addInitScript((bindingName) => {
        document.addEventListener('securitypolicyviolation', (event) => {
          const report = (window as unknown as Record<string, (v: CspViolation) => void>)[bindingName];
          report?.({
            documentURI: event.documentURI,
            violatedDirective: event.violatedDirective,
            blockedURI: event.blockedURI,
            sample: event.sample,
          });
        });
      }, reportCspViolation);

      await use(problems);

      expect.soft(problems.cspViolations, 'CSP violations').toEqual([]);
      expect.soft(problems.consoleErrors, 'console errors').toEqual([]);
      expect.soft(problems.pageErrors, 'uncaught page errors').toEqual([]);
      expect.soft(problems.failedRequests, 'failed requests').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
