import type { LoaderFunctionArgs } from 'react-router';

import { currentQueryClient } from '@/lib/react-query';

import { parsePlotState } from '../plot-state';
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
 * soon as the run is there the windows of its first plots, as the plots will
 * ask for them (the same series, layout, width and growth: the same query
 * keys; one per panel, or one for an overlay). A link to a comment's step
 * range, or a plot against another series, is not guessed.
 */
export function prefetchRun({ params, request }: LoaderFunctionArgs): null {
  const client = currentQueryClient();
  const id = params['id'];
  if (client === null || id === undefined) {
    return null;
  }
  const url = new URL(request.url);
  const plot = parsePlotState(url.searchParams);
  const options = runOptions(id);
  const run = client.getQueryData(options.queryKey);
  const loaded = run === undefined ? client.query(options) : Promise.resolve(run);
  loaded
    .then((r) => {
      if (url.hash !== '' || plot.x.kind === 'series') {
        return;
      }
      const all = (r.series ?? []).map((s) => s.name);
      const chosen = plot.series?.filter((s) => all.includes(s)) ?? [];
      const names = plot.series?.length === 0 ? [] : chosen.length > 0 ? chosen : all.slice(0, seriesShownFirst);
      const groups = plot.layout === 'overlay' ? [names] : names.map((n) => [n]);
      for (const group of groups) {
        const q = seriesWindowOptions(r.id, group, plotMaxPoints(window.innerWidth), null, plot.x.kind !== 'step', seriesGrowth(r));
        if (group.length > 0 && client.getQueryData(q.queryKey) === undefined) {
          client.query(q).catch(() => undefined);
        }
      }
    })
    .catch(() => undefined);
  return null;
}
