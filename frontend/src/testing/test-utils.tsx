import { QueryClient } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { RouterProvider, createMemoryRouter } from 'react-router';
import { vi, type Mock } from 'vitest';

import { AppProvider } from '@/app/provider';
import { routes } from '@/app/routes';

function testQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false } } });
}

/** renderWithProviders renders `ui` inside the app providers with a fresh query cache that does not retry. */
export function renderWithProviders(ui: ReactElement) {
  const queryClient = testQueryClient();
  return { ...render(<AppProvider queryClient={queryClient}>{ui}</AppProvider>), queryClient };
}

/** renderApp renders the real route table at `path`, with a fresh query cache that does not retry. */
export function renderApp(path: string) {
  const queryClient = testQueryClient();
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const result = render(
    <AppProvider queryClient={queryClient}>
      <RouterProvider router={router} />
    </AppProvider>,
  );
  return { ...result, router, queryClient };
}

/** jsonResponse builds a fetch Response with a JSON body. */
export function jsonResponse(body: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set('Content-Type', 'application/json');
  return new Response(JSON.stringify(body), { ...init, headers });
}

/** stubFetch replaces global fetch with a mock; vitest's unstubGlobals restores it after each test. */
export function stubFetch(implementation: typeof fetch): Mock<typeof fetch> {
  const mock = vi.fn(implementation);
  vi.stubGlobal('fetch', mock);
  return mock;
}
