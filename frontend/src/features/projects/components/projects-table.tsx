import { Anchor, EmptyState, Loader, Stack, Table, Text } from '@mantine/core';
import { Link } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { projectRunsPath } from '@/config/paths';
import { formatDateTime, formatRelative } from '@/lib/format';
import type { Project, ReviewState, RunStatus } from '@/types/api';

import { useProjects } from '../api/projects';

import classes from './projects-table.module.css';

const statusColumns: { key: RunStatus; label: string }[] = [
  { key: 'queued', label: 'Queued' },
  { key: 'running', label: 'Running' },
  { key: 'succeeded', label: 'Succeeded' },
  { key: 'failed', label: 'Failed' },
  { key: 'cancelled', label: 'Cancelled' },
];

const reviewColumns: { key: ReviewState; label: string }[] = [
  { key: 'unreviewed', label: 'Unreviewed' },
  { key: 'approved', label: 'Approved' },
  { key: 'rejected', label: 'Rejected' },
  { key: 'needs_rerun', label: 'Needs rerun' },
];

const count = new Intl.NumberFormat();

function Count({ value }: { value: number | undefined }) {
  if (value === undefined) {
    return <Text size="sm">—</Text>;
  }
  return (
    <Text size="sm" c={value === 0 ? 'dimmed' : undefined}>
      {count.format(value)}
    </Text>
  );
}

/** ProjectsTableView renders projects: one row each, names linking to their runs. */
export function ProjectsTableView({ projects }: { projects: Project[] }) {
  if (projects.length === 0) {
    return (
      <EmptyState
        title="No projects yet"
        description="A project appears once a job reports its first run. Create an API token for your jobs on the API tokens page."
      />
    );
  }
  return (
    <Table.ScrollContainer minWidth={1100}>
      <Table verticalSpacing="xs" aria-label="Projects" data-testid="projects-table" className={classes.table}>
        <colgroup>
          <col />
          <col />
        </colgroup>
        <colgroup span={statusColumns.length} />
        <colgroup span={reviewColumns.length} />
        <colgroup>
          <col />
          <col />
        </colgroup>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col" rowSpan={2}>
              Project
            </Table.Th>
            <Table.Th scope="col" rowSpan={2} className={classes.number}>
              Runs
            </Table.Th>
            <Table.Th scope="colgroup" colSpan={statusColumns.length} className={classes.group}>
              By status
            </Table.Th>
            <Table.Th scope="colgroup" colSpan={reviewColumns.length} className={classes.group}>
              By review
            </Table.Th>
            <Table.Th scope="col" rowSpan={2} className={classes.number}>
              Outdated verdicts
            </Table.Th>
            <Table.Th scope="col" rowSpan={2}>
              Last activity
            </Table.Th>
          </Table.Tr>
          <Table.Tr>
            {[...statusColumns, ...reviewColumns].map((c) => (
              <Table.Th key={c.key} scope="col" className={classes.number}>
                {c.label}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {projects.map((p) => (
            <Table.Tr key={p.name} data-project={p.name}>
              <Table.Th scope="row" className={classes.name}>
                <Anchor component={Link} to={projectRunsPath(p.name)} size="sm" fw={500}>
                  {p.name}
                </Anchor>
              </Table.Th>
              <Table.Td className={classes.number}>
                <Count value={p.runs} />
              </Table.Td>
              {statusColumns.map((c) => (
                <Table.Td key={c.key} className={classes.number}>
                  <Count value={p.by_status[c.key]} />
                </Table.Td>
              ))}
              {reviewColumns.map((c) => (
                <Table.Td key={c.key} className={classes.number}>
                  <Count value={p.by_review[c.key]} />
                </Table.Td>
              ))}
              <Table.Td className={classes.number}>
                <Count value={p.outdated} />
              </Table.Td>
              <Table.Td>
                {p.last_activity === null ? (
                  <Text size="sm" c="dimmed">
                    —
                  </Text>
                ) : (
                  <Stack gap={0}>
                    <Text size="sm" component="time" dateTime={p.last_activity}>
                      {formatRelative(p.last_activity)}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {formatDateTime(p.last_activity)}
                    </Text>
                  </Stack>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** ProjectsTable loads the projects and shows them. */
export function ProjectsTable() {
  const projects = useProjects();
  if (projects.isPending) {
    return <Loader size="sm" aria-label="Loading projects" />;
  }
  if (projects.isError) {
    return <ErrorAlert error={projects.error} title="Could not load the projects" />;
  }
  return <ProjectsTableView projects={projects.data} />;
}
