import {
  infiniteQueryOptions,
  keepPreviousData,
  queryOptions,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import { projectsQueryOptions } from '@/lib/projects-query';

import type {
  BulkReviewResult,
  CommentAnchor,
  ReviewEntry,
  ReviewState,
  Run,
  RunComment,
  RunKeys,
  RunsBatch,
  RunsPage,
} from '../types';
import type { ListRequest } from '../view-state';

/** runsPageSize is how many runs one request of the table fetches. */
export const runsPageSize = 100;

/** liveInterval is how often views holding running runs poll (paused while the tab is hidden). */
export const liveIntervalMs = 5_000;

/** listParams are the filters of a view as GET /api/runs (and its CSV export) take them. */
export function listParams(list: ListRequest): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of [
    ['q', list.q],
    ['project', list.project],
    ['status', list.status],
    ['review', list.review],
    ['sort', list.sort],
  ] as const) {
    if (value !== null && value !== '') {
      params.set(name, value);
    }
  }
  for (const series of list.summaries) {
    params.append('summary', series);
  }
  return params;
}

/** runsListOptions pages through the runs of a view with the server's keyset cursors. */
export function runsListOptions(list: ListRequest) {
  return infiniteQueryOptions({
    queryKey: ['runs', 'list', list.q, list.project, list.status, list.review, list.sort, list.summaries],
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(runsPageSize) });
      listParams(list).forEach((value, name) => { params.append(name, value); });
      if (pageParam !== '') {
        params.set('cursor', pageParam);
      }
      return apiFetch<RunsPage>(`/runs?${params.toString()}`, { signal });
    },
    initialPageParam: '',
    getNextPageParam: (last) => last.next ?? undefined,
    placeholderData: keepPreviousData,
    // The route's prefetch may land before the table mounts: no second request then.
    staleTime: 2_000,
  });
}

/** hasLiveRuns tells whether any loaded run may still change on its own. */
export function hasLiveRuns(runs: readonly Run[]): boolean {
  return runs.some((r) => r.status === 'running' || r.status === 'queued' || r.status === 'stale');
}

/**
 * livePagesMax bounds live polling: a refetch of an infinite list asks for
 * every loaded page again, so a view scrolled deep into a sweep stops
 * polling (it refreshes when scrolled back to the top or reloaded).
 */
export const livePagesMax = 3;

/** isLive tells whether a loaded view polls: it holds a run that may change, within the first pages. */
export function isLive(pages: readonly RunsPage[] | undefined): boolean {
  return pages !== undefined && pages.length <= livePagesMax && hasLiveRuns(pages.flatMap((p) => p.runs));
}

/**
 * useRunsList subscribes to a view. While it is live ({@link isLive}) it
 * polls every {@link liveIntervalMs}; TanStack Query pauses the interval
 * while the tab is hidden and refetches when it comes back.
 */
export function useRunsList(list: ListRequest) {
  return useInfiniteQuery({
    ...runsListOptions(list),
    refetchInterval: (query) => (isLive(query.state.data?.pages) ? liveIntervalMs : false),
    refetchIntervalInBackground: false,
  });
}

/** runOptions reads one run with its series summaries, review changes and baseline. */
export function runOptions(id: string) {
  return queryOptions({
    queryKey: ['runs', 'one', id],
    queryFn: ({ signal }) => apiFetch<Run>(`/runs/${encodeURIComponent(id)}`, { signal }),
    // The route's prefetch may land before the page mounts: no second request then.
    staleTime: 2_000,
  });
}

/** maxRunsPerBatch is how many runs GET /api/runs/batch and /api/runs/series take at once. */
export const maxRunsPerBatch = 100;

/**
 * runsBatchOptions reads up to 100 runs by id in one request (compare), each
 * with its series summaries, in the order asked; `missing` lists the ids
 * that name no run the caller can read.
 */
export function runsBatchOptions(ids: readonly string[]) {
  const params = new URLSearchParams({ ids: ids.join(',') });
  return queryOptions({
    queryKey: ['runs', 'batch', ids],
    queryFn: ({ signal }) => apiFetch<RunsBatch>(`/runs/batch?${params.toString()}`, { signal }),
    enabled: ids.length > 0,
    staleTime: 2_000,
  });
}

/** useRun subscribes to one run, polling while it may still change. */
export function useRun(id: string) {
  return useQuery({
    ...runOptions(id),
    refetchInterval: (query) => (query.state.data && hasLiveRuns([query.state.data]) ? liveIntervalMs : false),
    refetchIntervalInBackground: false,
  });
}

/**
 * runKeysOptions reads the param paths, metric and series names of the live
 * runs of a project (null: of every project the caller reaches) that start
 * with prefix. They change slowly: cached for a minute, refetched after the
 * changes that invalidate ['runs'].
 */
export function runKeysOptions(project: string | null, prefix = '') {
  return queryOptions({
    queryKey: ['runs', 'keys', project ?? '', prefix],
    queryFn: ({ signal }) => {
      const params = new URLSearchParams();
      if (project !== null && project !== '') {
        params.set('project', project);
      }
      if (prefix !== '') {
        params.set('prefix', prefix);
      }
      const query = params.toString();
      return apiFetch<RunKeys>(`/runs/keys${query === '' ? '' : `?${query}`}`, { signal });
    },
    staleTime: 60_000,
  });
}

/**
 * useRunKeys subscribes to the names of a project's live runs; callers ask
 * with a prefix only when the list without one was truncated (`enabled`).
 */
export function useRunKeys(project: string | null, prefix = '', enabled = true) {
  return useQuery({ ...runKeysOptions(project, prefix), enabled });
}

/** useProjects lists the projects with their counters (the cache the projects page shares). */
export function useProjects() {
  return useQuery({ ...projectsQueryOptions, staleTime: 30_000 });
}

/** useReviewHistory lists a run's verdicts, newest first. */
export function useReviewHistory(id: string) {
  return useQuery({
    queryKey: ['runs', 'one', id, 'reviews'],
    queryFn: ({ signal }) =>
      apiFetch<{ reviews: ReviewEntry[] }>(`/runs/${encodeURIComponent(id)}/reviews`, { signal }),
    select: (d) => d.reviews,
  });
}

/** useComments lists a run's comment thread, oldest first. */
export function useComments(id: string) {
  return useQuery({
    queryKey: ['runs', 'one', id, 'comments'],
    queryFn: ({ signal }) =>
      apiFetch<{ comments: RunComment[] }>(`/runs/${encodeURIComponent(id)}/comments`, { signal }),
    select: (d) => d.comments,
  });
}

/** useRunMutations are the changes a person makes to one run; each refreshes what it touches. */
export function useRunMutations(id: string) {
  const client = useQueryClient();
  const path = `/runs/${encodeURIComponent(id)}`;
  const refresh = async () => {
    await client.invalidateQueries({ queryKey: ['runs'] });
    await client.invalidateQueries({ queryKey: ['projects'] });
  };
  return {
    review: useMutation({
      mutationFn: (v: { state: ReviewState; comment: string }) =>
        apiFetch<Run>(`${path}/review`, { method: 'POST', body: v }),
      onSuccess: refresh,
    }),
    notes: useMutation({
      mutationFn: (notes: string) => apiFetch<Run>(path, { method: 'PATCH', body: { notes } }),
      onSuccess: refresh,
    }),
    tags: useMutation({
      mutationFn: (tags: string[]) => apiFetch<Run>(path, { method: 'PATCH', body: { tags } }),
      onSuccess: refresh,
    }),
    remove: useMutation({
      mutationFn: () => apiFetch<undefined>(path, { method: 'DELETE' }),
      onSuccess: refresh,
    }),
    restore: useMutation({
      mutationFn: () => apiFetch<Run>(`${path}/restore`, { method: 'POST' }),
      onSuccess: refresh,
    }),
    baseline: useMutation({
      mutationFn: (v: { project: string; set: boolean }) =>
        apiFetch<undefined>(`/projects/${encodeURIComponent(v.project)}/baseline`, {
          method: v.set ? 'PUT' : 'DELETE',
          ...(v.set ? { body: { run_id: id } } : {}),
        }),
      onSuccess: refresh,
    }),
    comment: useMutation({
      mutationFn: (v: { body: string; anchor?: CommentAnchor }) =>
        apiFetch<RunComment>(`${path}/comments`, { method: 'POST', body: v }),
      onSuccess: refresh,
    }),
    editComment: useMutation({
      mutationFn: (v: { id: string; body: string }) =>
        apiFetch<RunComment>(`${path}/comments/${encodeURIComponent(v.id)}`, {
          method: 'PATCH',
          body: { body: v.body },
        }),
      onSuccess: refresh,
    }),
    deleteComment: useMutation({
      mutationFn: (cid: string) =>
        apiFetch<undefined>(`${path}/comments/${encodeURIComponent(cid)}`, { method: 'DELETE' }),
      onSuccess: refresh,
    }),
  };
}

/** useBulkReview gives one verdict to several runs as one batch, and takes a batch back. */
export function useBulkReview() {
  const client = useQueryClient();
  const refresh = async () => {
    await client.invalidateQueries({ queryKey: ['runs'] });
    await client.invalidateQueries({ queryKey: ['projects'] });
  };
  return {
    review: useMutation({
      mutationFn: (v: { ids: string[]; state: ReviewState; comment: string }) =>
        apiFetch<BulkReviewResult>('/runs/review', { method: 'POST', body: v }),
      onSuccess: refresh,
    }),
    undo: useMutation({
      mutationFn: (batchId: string) =>
        apiFetch<BulkReviewResult>('/runs/review/undo', { method: 'POST', body: { batch_id: batchId } }),
      onSuccess: refresh,
    }),
  };
}
