import type { LoaderFunctionArgs } from 'react-router';

import { currentQueryClient } from '@/lib/react-query';

import { listRequest, parseView } from '../view-state';
import { runOptions, runsListOptions } from './runs';

/**
 * prefetchRuns starts the view's first page as the navigation starts: on a
 * fresh load the request then leaves as soon as the boot refresh has a
 * token, while the page renders, instead of after it. It does not wait.
 */
export function prefetchRuns({ request }: LoaderFunctionArgs): null {
  const client = currentQueryClient();
  const options = runsListOptions(listRequest(parseView(new URL(request.url).searchParams)));
  if (client !== null && client.getQueryData(options.queryKey) === undefined) {
    client.infiniteQuery(options).catch(() => undefined);
  }
  return null;
}


/**
 * prefetchRun starts a run's request as the navigation starts, while the
 * run page's chunk loads (the route is lazy; this loader is not).
 */
export function prefetchRun({ params }: LoaderFunctionArgs): null {
  const client = currentQueryClient();
  const id = params['id'];
  if (client !== null && id !== undefined) {
    const options = runOptions(id);
    if (client.getQueryData(options.queryKey) === undefined) {
      client.query(options).catch(() => undefined);
    }
  }
  return null;
}
