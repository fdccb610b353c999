/**
 * Named views, saved per user on the server (GET/PUT/DELETE /api/me/views),
 * so they follow the person to any browser. A view is its URL query only:
 * filters, sort and columns.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';

export interface SavedView {
  name: string;
  /** search is the view's URL query, without the `?`. */
  search: string;
  updated_at?: string;
}

const key = ['me', 'views'];

/** useSavedViews lists the signed-in user's saved views and saves or removes one. */
export function useSavedViews() {
  const client = useQueryClient();
  const views = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => apiFetch<{ views: SavedView[] }>('/me/views', { signal }),
    select: (d) => d.views,
  });
  const refresh = () => client.invalidateQueries({ queryKey: key });
  const save = useMutation({
    mutationFn: (v: SavedView) =>
      apiFetch<SavedView>(`/me/views/${encodeURIComponent(v.name)}`, { method: 'PUT', body: { search: v.search } }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (name: string) => apiFetch<undefined>(`/me/views/${encodeURIComponent(name)}`, { method: 'DELETE' }),
    onSuccess: refresh,
  });
  return { views, save, remove };
}
