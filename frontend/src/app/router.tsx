import { useState } from 'react';
import { RouterProvider, createBrowserRouter } from 'react-router';

import { routes } from './routes';

/** AppRouter mounts the route table on the browser history. */
export function AppRouter() {
  const [router] = useState(() => createBrowserRouter(routes));
  return <RouterProvider router={router} />;
}
