import { QueryClient } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { RouterProvider, createMemoryRouter } from 'react-router';

import { AppProvider } from '@/app/provider';
import { routes } from '@/app/routes';
import { registerQueryClient } from '@/lib/react-query';
import { startSession } from '@/lib/session/session';

import { installFakeApi, type FakeApiOptions } from './fake-api';

export { jsonResponse, stubFetch } from './http';

function testQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false } } });
}

/** renderWithProviders renders `ui` inside the app providers with a fresh query cache that does not retry. */
export function renderWithProviders(ui: ReactElement) {
  const queryClient = testQueryClient();
  return {
    ...render(
      <AppProvider queryClient={queryClient} testEnv>
        {ui}
      </AppProvider>,
    ),
    queryClient,
  };
}

/**
 * renderApp renders the real route table at `path` against a fake server (signed
 * in as a viewer unless `api` says otherwise), after starting the session the
 * way main.tsx does. Fresh query cache, no retries.
 */
export function renderApp(path: string, api: FakeApiOptions = {}) {
  const fake = installFakeApi(api);
  startSession();
  const queryClient = testQueryClient();
  // Route loaders prefetch into the registered client: this test's, before the router starts.
  registerQueryClient(queryClient);
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const result = render(
    <AppProvider queryClient={queryClient} testEnv>
      <RouterProvider router={router} />
    </AppProvider>,
  );
  return { ...result, router, queryClient, api: fake };
}
