import { Alert, Button, Group, Select, Text, TextInput } from '@mantine/core';
import { useState } from 'react';

import { ErrorAlert } from '@/components/error-alert';

import { useBulkReview } from '../api/runs';
import { needsComment, reviewLabels, reviewStates, type BulkReviewResult, type ReviewState } from '../types';

/**
 * BulkReview gives the selected runs one verdict as one batch; the answer
 * offers Undo, which takes the whole batch back. With nothing selected it
 * shows only the last answer (the selection is cleared after a verdict).
 */
export function BulkReview({ ids, onDone }: { ids: string[]; onDone: () => void }) {
  const { review, undo } = useBulkReview();
  const [state, setState] = useState<ReviewState>('approved');
  const [comment, setComment] = useState('');
  const [last, setLast] = useState<BulkReviewResult | null>(null);
  const [undone, setUndone] = useState<BulkReviewResult | null>(null);
  const missingComment = needsComment.includes(state) && comment.trim() === '';

  return (
    <div>
      {ids.length > 0 && (
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (missingComment || ids.length === 0) {
            return;
          }
          setUndone(null);
          review.mutate(
            { ids, state, comment: comment.trim() },
            {
              onSuccess: (res) => {
                setLast(res);
                setComment('');
                onDone();
              },
            },
          );
        }}
      >
        <Group gap="xs" align="flex-end">
          <Select
            label="Verdict for the selected runs"
            data={reviewStates.map((s) => ({ value: s, label: reviewLabels[s] }))}
            value={state}
            allowDeselect={false}
            onChange={(v) => { setState((v) ?? 'approved'); }}
            w={200}
          />
          <TextInput
            label={needsComment.includes(state) ? 'Comment (required)' : 'Comment'}
            value={comment}
            onChange={(e) => { setComment(e.currentTarget.value); }}
            error={missingComment ? 'Say why: a comment is required for this verdict' : undefined}
            w={320}
            maxLength={4096}
          />
          <Button type="submit" disabled={ids.length === 0 || missingComment} loading={review.isPending}>
            Review {ids.length} {ids.length === 1 ? 'run' : 'runs'}
          </Button>
        </Group>
      </form>
      )}
      {review.error !== null && <ErrorAlert error={review.error} title="The review failed" />}
      {undo.error !== null && <ErrorAlert error={undo.error} title="Undo failed" />}
      {last !== null && (
        <Alert variant="light" color="green" mt="xs" role="status" data-testid="bulk-review-result">
          <Group justify="space-between">
            <Text size="sm">
              {last.reviewed.length} {last.reviewed.length === 1 ? 'run' : 'runs'} reviewed
              {last.skipped.length > 0 ? `, ${last.skipped.length} skipped (${last.skipped.map((s) => s.reason).join(', ')})` : ''}.
            </Text>
            <Button
              size="xs"
              variant="default"
              loading={undo.isPending}
              onClick={() => { undo.mutate(last.batch_id, {
                  onSuccess: (res) => {
                    setUndone(res);
                    setLast(null);
                  },
                }); }
              }
            >
              Undo
            </Button>
          </Group>
        </Alert>
      )}
      {undone !== null && (
        <Alert variant="light" mt="xs" role="status">
          <Text size="sm">
            Undone: {undone.reviewed.length} {undone.reviewed.length === 1 ? 'run has' : 'runs have'} the verdict
            they had before
            {undone.skipped.length > 0 ? `; ${undone.skipped.length} reviewed again since were left as they are` : ''}.
          </Text>
        </Alert>
      )}
    </div>
  );
}
