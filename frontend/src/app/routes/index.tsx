import { Navigate, type RouteObject } from 'react-router';

import { AppLayout } from '@/components/layouts/app-layout';
import { PublicLayout } from '@/components/layouts/public-layout';
import { paths } from '@/config/paths';
import { prefetchRun, prefetchRuns } from '@/features/runs/api/prefetch';

import { RequirePermission, RequireSession } from './guards';
import { NotFoundRoute } from './not-found';
import { RouteError } from './route-error';
import { RunsRoute } from './runs';
import { StatusRoute } from './status';

/**
 * routes is the whole client-side route table; the browser router and tests both
 * use it. The shell and the runs table are in the first bundle; sign-in (with
 * the form library), a run's page, compare (both with the chart library),
 * projects, API tokens, account, admin and setup pages load on demand (the
 * password-strength dictionaries are large).
 */
export const routes: RouteObject[] = [
  {
    errorElement: <RouteError />,
    hydrateFallbackElement: null,
    children: [
      {
        element: <PublicLayout />,
        children: [
          {
            // Lazy too: the sign-in form brings @mantine/form (about 6.5 KB gzip),
            // which the first page after sign-in has no room for.
            path: paths.signIn.path,
            lazy: async () => ({ Component: (await import('./sign-in')).SignInRoute }),
          },
          {
            path: paths.setup.path,
            lazy: async () => ({ Component: (await import('./setup')).SetupRoute }),
          },
        ],
      },
      {
        element: (
          <RequireSession>
            <AppLayout />
          </RequireSession>
        ),
        children: [
          {
            // Catches page errors inside the layout, so the header stays usable.
            errorElement: <RouteError />,
            children: [
              { index: true, element: <Navigate to={paths.runs.path} replace /> },
              { path: paths.runs.path, element: <RunsRoute />, loader: prefetchRuns },
              {
                path: `${paths.runs.path}/:id`,
                loader: prefetchRun,
                lazy: async () => ({ Component: (await import('./run')).RunRoute }),
              },
              {
                path: paths.compare.path,
                lazy: async () => ({ Component: (await import('./compare')).CompareRoute }),
              },
              { path: paths.status.path, element: <StatusRoute /> },
              {
                path: paths.projects.path,
                lazy: async () => ({ Component: (await import('./projects')).ProjectsRoute }),
              },
              {
                path: paths.tokens.path,
                lazy: async () => ({ Component: (await import('./tokens')).TokensRoute }),
              },
              {
                path: paths.account.path,
                lazy: async () => ({ Component: (await import('./account')).AccountRoute }),
              },
              {
                path: paths.users.path,
                lazy: async () => {
                  const { UsersRoute } = await import('./users');
                  return {
                    element: (
                      <RequirePermission permission="users:manage">
                        <UsersRoute />
                      </RequirePermission>
                    ),
                  };
                },
              },
              {
                path: paths.audit.path,
                lazy: async () => {
                  const { AuditRoute } = await import('./audit');
                  return {
                    element: (
                      <RequirePermission permission="audit:read">
                        <AuditRoute />
                      </RequirePermission>
                    ),
                  };
                },
              },
              { path: '*', element: <NotFoundRoute /> },
            ],
          },
        ],
      },
    ],
  },
];
