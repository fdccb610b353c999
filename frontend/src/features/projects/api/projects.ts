import { useQuery } from '@tanstack/react-query';

import { projectsQueryOptions } from '@/lib/projects-query';

/** useProjects subscribes to the projects with their run counts. */
export function useProjects() {
  return useQuery(projectsQueryOptions);
}
