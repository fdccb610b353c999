import { queryOptions } from '@tanstack/react-query';

import { apiFetch } from '@/lib/api-client';
import type { Project } from '@/types/api';

/**
 * projectsQueryOptions lists the projects with their run counts (any role);
 * the projects page and the token form's project suggestions share it.
 */
export const projectsQueryOptions = queryOptions({
  queryKey: ['projects'],
  queryFn: async ({ signal }) => (await apiFetch<{ projects: Project[] }>('/projects', { signal })).projects,
});
