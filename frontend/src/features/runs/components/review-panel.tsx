import { Alert, Anchor, Button, Group, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useState } from 'react';
import { Link } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { formatDateTime, formatRelative } from '@/lib/format';

import { useReviewHistory, useRunMutations } from '../api/runs';
import { formatNumber, formatValue } from '../format';
import classes from '../runs.module.css';
import { bulkNote, nameOr } from '../review-text';
import { needsComment, reviewLabels, type ReviewState, type Run } from '../types';
import { ReviewBadge } from './badges';

const actions: { state: ReviewState; label: string; color: string }[] = [
  { state: 'approved', label: 'Approve', color: 'green' },
  { state: 'rejected', label: 'Reject', color: 'red' },
  { state: 'needs_rerun', label: 'Needs rerun', color: 'orange' },
  { state: 'unreviewed', label: 'Take back', color: 'gray' },
];

/**
 * ReviewPanel shows the current verdict, what changed since it when it is
 * outdated, the baseline comparison and the whole history; reviewers and
 * admins (`canReview`) also get the verdict buttons.
 */
export function ReviewPanel({ run, canReview, onReviewed }: { run: Run; canReview: boolean; onReviewed?: () => void }) {
  const history = useReviewHistory(run.id);
  const { review } = useRunMutations(run.id);
  const [comment, setComment] = useState('');
  const [missing, setMissing] = useState(false);

  const submit = (state: ReviewState) => {
    if (needsComment.includes(state) && comment.trim() === '') {
      setMissing(true);
      return;
    }
    setMissing(false);
    review.mutate(
      { state, comment: comment.trim() },
      {
        onSuccess: () => {
          setComment('');
          onReviewed?.();
        },
      },
    );
  };

  const changes = run.changes_since_review;
  return (
    <Stack gap="sm">
      <Group gap="sm">
        <ReviewBadge review={run.review} />
        {run.review.at !== null && (
          <Text size="sm">
            by {run.review.by_name ?? run.review.by}, {formatRelative(run.review.at)}
          </Text>
        )}
      </Group>
      {run.review.comment !== '' && (
        <Text size="sm" className={classes.notes}>
          “{run.review.comment}”
        </Text>
      )}
      {run.review.outdated && changes !== undefined && (
        <Alert color="yellow" variant="light" title="The data changed after this verdict" data-testid="changes-since-review">
          <ChangesTable changes={changes} />
        </Alert>
      )}
      {canReview && run.deleted_at === null && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          <Stack gap="xs">
            <Textarea
              label="Comment"
              description="Required to reject or ask for a rerun."
              value={comment}
              onChange={(e) => {
                setComment(e.currentTarget.value);
                setMissing(false);
              }}
              error={missing ? 'Say why: a comment is required for this verdict' : undefined}
              resize="vertical"
              rows={2}
              maxLength={4096}
            />
            <Group gap="xs">
              {actions.map((a) => (
                <Button
                  key={a.state}
                  color={a.color}
                  variant={a.state === 'unreviewed' ? 'default' : 'filled'}
                  onClick={() => { submit(a.state); }}
                  loading={review.isPending && review.variables.state === a.state}
                  disabled={a.state === 'unreviewed' && run.review.state === 'unreviewed'}
                >
                  {a.label}
                </Button>
              ))}
            </Group>
          </Stack>
        </form>
      )}
      {review.error !== null && <ErrorAlert error={review.error} title="The verdict was not saved" />}
      {run.baseline !== undefined && <BaselinePanel run={run} />}
      <Title order={3} size="h5">
        History
      </Title>
      {history.error !== null && <ErrorAlert error={history.error} />}
      {history.data !== undefined && history.data.length === 0 && (
        <Text size="sm" c="dimmed">
          No verdict yet.
        </Text>
      )}
      {history.data !== undefined && history.data.length > 0 && (
        <ol className={classes.history} aria-label="Review history" data-testid="review-history">
          {history.data.map((h) => (
            <li key={h.id}>
              <Text size="sm">
                <strong>{reviewLabels[h.state]}</strong> by {nameOr(h.by_name, h.by)},{' '}
                <time dateTime={h.at} title={formatDateTime(h.at)}>
                  {formatRelative(h.at)}
                </time>
                {bulkNote(h)}
              </Text>
              {h.comment !== '' && (
                <Text size="sm" className={classes.notes}>
                  {h.comment}
                </Text>
              )}
            </li>
          ))}
        </ol>
      )}
    </Stack>
  );
}

function ChangesTable({ changes }: { changes: NonNullable<Run['changes_since_review']> }) {
  const rows = [
    ...changes.params.map((c) => ({ what: `params.${c.name}`, before: formatValue(c.before), after: formatValue(c.after) })),
    ...changes.metrics.map((c) => ({ what: `metrics.${c.name}`, before: formatValue(c.before), after: formatValue(c.after) })),
    ...changes.series.map((c) => ({
      what: `series ${c.name}`,
      before: `${String(c.count_before)} points (to step ${String(c.last_step_before)})`,
      after: `${String(c.count_after)} points (to step ${String(c.last_step_after)})`,
    })),
  ];
  return (
    <Table fz="sm" withRowBorders={false}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Changed</Table.Th>
          <Table.Th scope="col">At the verdict</Table.Th>
          <Table.Th scope="col">Now</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((r) => (
          <Table.Tr key={r.what}>
            <Table.Td>{r.what}</Table.Td>
            <Table.Td>{r.before}</Table.Td>
            <Table.Td>{r.after}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** BaselinePanel links the project's baseline and shows the params that differ and the metric deltas. */
function BaselinePanel({ run }: { run: Run }) {
  const b = run.baseline;
  if (b === undefined) {
    return null;
  }
  return (
    <section aria-labelledby="baseline-heading" data-testid="baseline">
      <Title order={3} size="h5" id="baseline-heading">
        Against the baseline{' '}
        <Anchor component={Link} to={`/runs/${encodeURIComponent(b.run_id)}`}>
          {b.name}
        </Anchor>
      </Title>
      {b.params.length > 0 && (
        <Table fz="sm" mt="xs" aria-label="Params that differ from the baseline">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Param</Table.Th>
              <Table.Th scope="col">Baseline</Table.Th>
              <Table.Th scope="col">This run</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {b.params.map((p) => (
              <Table.Tr key={p.name}>
                <Table.Td>{p.name}</Table.Td>
                <Table.Td>{formatValue(p.before)}</Table.Td>
                <Table.Td>{formatValue(p.after)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {b.metrics.length > 0 && (
        <Table fz="sm" mt="xs" aria-label="Metrics against the baseline">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Metric</Table.Th>
              <Table.Th scope="col">This run</Table.Th>
              <Table.Th scope="col">Baseline</Table.Th>
              <Table.Th scope="col">Delta</Table.Th>
              <Table.Th scope="col">Ratio</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {b.metrics.map((m) => (
              <Table.Tr key={m.name}>
                <Table.Td>{m.name}</Table.Td>
                <Table.Td>{formatNumber(m.run)}</Table.Td>
                <Table.Td>{formatNumber(m.baseline)}</Table.Td>
                <Table.Td>{formatNumber(m.delta)}</Table.Td>
                <Table.Td>{formatNumber(m.ratio)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </section>
  );
}
