import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect } from 'react';

import { apiFetch } from '@/lib/api-client';

import type { RunsPage } from '../types';
import type { ListRequest } from '../view-state';
import { listParams } from './runs';

/** sweepPageSize is the server's largest page (docs/api.md: limit 1–500). */
export const sweepPageSize = 500;

/** sweepMaxRuns is as many runs as the sweep view loads and draws. */
export const sweepMaxRuns = 10_000;

/**
 * useSweepRuns loads the runs of a view for the sweep: pages of 500 with
 * the view's filters and sort, one after the other as each arrives, up to
 * {@link sweepMaxRuns}. The first page asks for the exact count, so the
 * panel can say when the view holds more runs than it draws.
 */
export function useSweepRuns(list: ListRequest, enabled: boolean) {
  const query = useInfiniteQuery({
    queryKey: ['runs', 'sweep', list.q, list.project, list.status, list.review, list.sort],
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(sweepPageSize) });
      listParams(list).forEach((value, name) => {
        params.set(name, value);
      });
      if (pageParam === '') {
        params.set('count', 'exact');
      } else {
        params.set('cursor', pageParam);
      }
      return apiFetch<RunsPage>(`/runs?${params.toString()}`, { signal });
    },
    initialPageParam: '',
    getNextPageParam: (last, pages) =>
      pages.length * sweepPageSize >= sweepMaxRuns ? undefined : (last.next ?? undefined),
    enabled,
    // Thousands of runs: refetched when a change invalidates ['runs'], not on every focus.
    staleTime: 60_000,
    refetchOnWindowFocus: false,
  });
  const { hasNextPage, isFetchingNextPage, isFetching, fetchNextPage, isError } = query;
  useEffect(() => {
    if (enabled && hasNextPage && !isFetchingNextPage && !isFetching && !isError) {
      void fetchNextPage();
    }
  }, [enabled, hasNextPage, isFetchingNextPage, isFetching, isError, fetchNextPage]);
  return query;
}
