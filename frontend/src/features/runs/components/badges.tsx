import { Badge, Group } from '@mantine/core';

import { reviewLabels, type RunReview, type RunStatus } from '../types';

const statusColors: Record<RunStatus, string> = {
  queued: 'gray',
  running: 'blue',
  stale: 'orange',
  succeeded: 'green',
  failed: 'red',
  cancelled: 'gray',
};

const reviewColors: Record<string, string> = {
  unreviewed: 'gray',
  approved: 'green',
  rejected: 'red',
  needs_rerun: 'orange',
};

/** StatusBadge shows a run's status, `stale` included. */
export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <Badge variant="light" color={statusColors[status]} size="sm" radius="sm">
      {status}
    </Badge>
  );
}

/** ReviewBadge shows the current verdict, and whether the data changed since. */
export function ReviewBadge({ review }: { review: RunReview }) {
  return (
    <Group gap={4} wrap="nowrap">
      <Badge variant="light" color={reviewColors[review.state] ?? 'gray'} size="sm" radius="sm">
        {reviewLabels[review.state]}
      </Badge>
      {review.outdated && (
        <Badge variant="outline" color="yellow" size="sm" radius="sm" title="The data changed after this verdict">
          outdated
        </Badge>
      )}
    </Group>
  );
}
