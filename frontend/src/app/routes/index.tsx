import type { RouteObject } from 'react-router';

import { AppLayout } from '@/components/layouts/app-layout';
import { paths } from '@/config/paths';

import { NotFoundRoute } from './not-found';
import { OverviewRoute } from './overview';
import { RouteError } from './route-error';
import { StatusRoute } from './status';

/** routes is the whole client-side route table; the browser router and tests both use it. */
export const routes: RouteObject[] = [
  {
    element: <AppLayout />,
    errorElement: <RouteError />,
    children: [
      {
        // Catches page errors inside the layout, so the header stays usable.
        errorElement: <RouteError />,
        children: [
          { index: true, element: <OverviewRoute /> },
          { path: paths.status.path, element: <StatusRoute /> },
          { path: '*', element: <NotFoundRoute /> },
        ],
      },
    ],
  },
];
