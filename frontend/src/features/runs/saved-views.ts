/**
 * Named views, saved per user on the server (GET/PUT/DELETE /api/me/views),
 * so they follow the person to any browser. A view is its URL query only:
 * filters, sort and columns.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import type { components } from '@/types/openapi';

/** SavedView is a saved view as the API shows it; `search` is its URL query, without the `?`. */
export type SavedView = components['schemas']['View'];

const key = ['me', 'views'];

/** useSavedViews lists the signed-in user's saved views and saves or removes one. */
export function useSavedViews() {
  const client = useQueryClient();
  const views = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => apiFetch<components['schemas']['ViewsList']>('/me/views', { signal }),
    select: (d) => d.views,
  });
  const refresh = () => client.invalidateQueries({ queryKey: key });
  const save = useMutation({
    mutationFn: (v: Pick<SavedView, 'name' | 'search'>) =>
      apiFetch<SavedView>(`/me/views/${encodeURIComponent(v.name)}`, { method: 'PUT', body: { search: v.search } }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (name: string) => apiFetch<undefined>(`/me/views/${encodeURIComponent(name)}`, { method: 'DELETE' }),
    onSuccess: refresh,
  });
  return { views, save, remove };
}
