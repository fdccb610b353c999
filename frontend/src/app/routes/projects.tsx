import { Stack } from '@mantine/core';

import { PageHeader } from '@/components/page-header';
import { ProjectsTable } from '@/features/projects/components/projects-table';

/** ProjectsRoute is the overview of every project's runs and reviews. */
export function ProjectsRoute() {
  return (
    <Stack gap="lg">
      <PageHeader title="Projects">
        Every project with its runs by status and by review. Open a project to see its runs.
      </PageHeader>
      <ProjectsTable />
    </Stack>
  );
}
