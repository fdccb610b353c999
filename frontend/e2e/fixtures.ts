import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';

/** CspViolation is what the page reports for each `securitypolicyviolation` event. */
interface CspViolation {
  documentURI: string;
  violatedDirective: string;
  blockedURI: string;
  sample: string;
}

/** ExpectedFailure is an HTTP error status a test declares it provokes on purpose. */
interface ExpectedFailure {
  status: number;
  url: RegExp;
  /** Only on this page, when given (other tabs stay strict). */
  page?: Page;
}

/** PageProblems collects what went wrong in every page of the test, and what the test expects. */
export interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  cspViolations: CspViolation[];
  /** Requests the page itself aborted (navigation, sign-out cancelling a refresh): recorded, not failures. */
  abortedRequests: string[];
  /**
   * expect declares an HTTP error response (and the console line Chrome logs for
   * it) as intended, e.g. the 401 of the boot refresh of a signed-out tab. Every
   * other status >= 400 still fails the test.
   */
  expect(status: number, url: RegExp, page?: Page): void;
  /** watch applies the same checks to a page of another browser context. */
  watch(page: Page): void;
  /** newContext opens another browser context (another browser, in effect), watched the same way. */
  newContext(): Promise<BrowserContext>;
}

const reportCspViolation = '__labreviewReportCspViolation';
const failedResourcePattern = /Failed to load resource: the server responded with a status of (\d+)/;

async function instrumentContext(context: BrowserContext, problems: PageProblems): Promise<void> {
  // The binding and the listener outlive navigations and cover every page of the context.
  await context.exposeFunction(reportCspViolation, (violation: CspViolation) => {
    problems.cspViolations.push(violation);
  });
  await context.addInitScript((bindingName) => {
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
  context.on('page', (page) => {
    problems.watch(page);
  });
}

/**
 * test is Playwright's test with one automatic fixture: every test fails if a
 * page logged a console error, threw, had a request fail or answered >= 400,
 * or violated the Content-Security-Policy — in any page and document the test
 * visited — unless the test declared that exact error with `pageProblems.expect`.
 */
export const test = base.extend<{ pageProblems: PageProblems }>({
  pageProblems: [
    async ({ page, context, browser }, use, testInfo) => {
      const expected: ExpectedFailure[] = [];
      const watched = new WeakSet<Page>();
      const extraContexts: BrowserContext[] = [];
      const isExpected = (status: number, url: string, where: Page) =>
        expected.some((e) => e.status === status && e.url.test(url) && (e.page === undefined || e.page === where));

      const problems: PageProblems = {
        consoleErrors: [],
        pageErrors: [],
        failedRequests: [],
        cspViolations: [],
        abortedRequests: [],
        expect(status, url, onPage) {
          expected.push({ status, url, page: onPage });
        },
        watch(p) {
          if (watched.has(p)) {
            return;
          }
          watched.add(p);
          p.on('console', (message) => {
            if (message.type() !== 'error') {
              return;
            }
            const status = failedResourcePattern.exec(message.text())?.[1];
            if (status !== undefined && isExpected(Number(status), message.location().url, p)) {
              return;
            }
            problems.consoleErrors.push(`${message.text()} (${message.location().url})`);
          });
          p.on('pageerror', (error) => {
            problems.pageErrors.push(error.stack ?? error.message);
          });
          p.on('requestfailed', (request) => {
            const reason = request.failure()?.errorText ?? 'failed';
            const line = `${request.method()} ${request.url()}: ${reason}`;
            if (reason === 'net::ERR_ABORTED') {
              problems.abortedRequests.push(line);
            } else {
              problems.failedRequests.push(line);
            }
          });
          p.on('response', (response) => {
            if (response.status() >= 400 && !isExpected(response.status(), response.url(), p)) {
              problems.failedRequests.push(`${response.request().method()} ${response.url()}: HTTP ${response.status()}`);
            }
          });
        },
        async newContext() {
          const extra = await browser.newContext({
            baseURL: testInfo.project.use.baseURL,
            ...testInfo.project.use.contextOptions,
          });
          extraContexts.push(extra);
          await instrumentContext(extra, problems);
          return extra;
        },
      };

      await instrumentContext(context, problems);
      problems.watch(page);

      await use(problems);

      for (const extra of extraContexts) {
        await extra.close();
      }
      expect.soft(problems.cspViolations, 'CSP violations').toEqual([]);
      expect.soft(problems.consoleErrors, 'console errors').toEqual([]);
      expect.soft(problems.pageErrors, 'uncaught page errors').toEqual([]);
      expect.soft(problems.failedRequests, 'failed requests').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
