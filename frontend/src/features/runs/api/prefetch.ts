import type { LoaderFunctionArgs } from 'react-router';

import { currentQueryClient } from '@/lib/react-query';

import { listRequest, parseView } from '../view-state';
import { runOptions, runsListOptions } from './runs';
import { plotMaxPoints, seriesGrowth, seriesShownFirst, seriesWindowOptions } from './series';

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
 * run page's chunk loads (the route is lazy; this loader is not), and as
 * soon as the run is there the window of its first plot, as the plot will
 * ask for it (the same series, width and growth: the same query key). A
 * link to a comment's step range plots that range instead: not guessed.
 */
export function prefetchRun({ params, request }: LoaderFunctionArgs): null {
  const client = currentQueryClient();
  const id = params['id'];
  if (client === null || id === undefined) {
    return null;
  }
  const options = runOptions(id);
  const run = client.getQueryData(options.queryKey);
  const loaded = run === undefined ? client.query(options) : Promise.resolve(run);
  loaded
    .then((r) => {
      const names = (r.series ?? []).slice(0, seriesShownFirst).map((s) => s.name);
      const plot = seriesWindowOptions(r.id, names, plotMaxPoints(window.innerWidth), null, false, seriesGrowth(r));
      if (names.length > 0 && new URL(request.url).hash === '' && client.getQueryData(plot.queryKey) === undefined) {
        client.query(plot).catch(() => undefined);
      }
    })
    .catch(() => undefined);
  return null;
}
