import { Anchor, Button, Group, NumberInput, Paper, Select, Stack, Text, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { Link } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { TextEditForm } from '@/components/inline-edit-form';
import { formatDateTime, formatRelative } from '@/lib/format';

import { useComments, useRunMutations } from '../api/runs';
import classes from '../runs.module.css';
import { anchorHash } from '../links';
import { nameOr } from '../review-text';
import type { CommentAnchor, RunComment } from '../types';

function anchorLabel(anchor: CommentAnchor): string {
  return 'param' in anchor
    ? `param ${anchor.param}`
    : `${anchor.series}, steps ${String(anchor.from)}–${String(anchor.to)}`;
}

/** CommentDraft is the comment being written and what it points at. */
interface CommentDraft {
  body: string;
  kind: 'none' | 'param' | 'series';
  param: string | null;
  series: string | null;
  from: number | string;
  to: number | string;
}

const emptyDraft: CommentDraft = { body: '', kind: 'none', param: null, series: null, from: 0, to: 0 };

/** anchorOf is what a draft points at, when it is whole. */
function anchorOf({ kind, param, series, from, to }: CommentDraft): CommentAnchor | undefined {
  if (kind === 'param' && param !== null) {
    return { param };
  }
  if (kind === 'series' && series !== null && typeof from === 'number' && typeof to === 'number') {
    return { series, from, to };
  }
  return undefined;
}

/**
 * CommentsThread is a run's discussion: every signed-in user comments;
 * authors edit their own (the old text is kept) and authors or admins
 * delete. A comment can point at a param or a step range of a series.
 */
export function CommentsThread({
  runId,
  userId,
  isAdmin,
  paramPaths,
  seriesNames,
}: {
  runId: string;
  userId: string;
  isAdmin: boolean;
  paramPaths: string[];
  seriesNames: string[];
}) {
  const comments = useComments(runId);
  const m = useRunMutations(runId);
  const form = useForm<CommentDraft>({ initialValues: emptyDraft });
  const draft = form.values;
  return (
    <Stack gap="sm">
      {comments.error !== null && <ErrorAlert error={comments.error} />}
      {comments.data !== undefined && comments.data.length === 0 && (
        <Text size="sm" c="dimmed">
          No comments yet.
        </Text>
      )}
      {comments.data?.map((c) => (
        <CommentItem
          key={c.id}
          runId={runId}
          comment={c}
          canEdit={c.author === userId}
          canDelete={c.author === userId || isAdmin}
        />
      ))}
      <form
        onSubmit={form.onSubmit((values) => {
          if (values.body.trim() === '') {
            return;
          }
          const a = anchorOf(values);
          m.comment.mutate(a === undefined ? { body: values.body } : { body: values.body, anchor: a }, {
            onSuccess: () => {
              // A draft typed while this one was being sent is the next
              // comment: it stays, with what it points at.
              if (form.getValues().body === values.body) {
                form.setValues({ body: '', kind: 'none' });
              }
            },
          });
        })}
      >
        <Stack gap="xs">
          <Textarea label="Add a comment" resize="vertical" rows={2} maxLength={8192} {...form.getInputProps('body')} />
          <Group gap="xs" align="flex-end">
            <Select
              label="Points at"
              data={[
                { value: 'none', label: 'Nothing' },
                { value: 'param', label: 'A param', disabled: paramPaths.length === 0 },
                { value: 'series', label: 'A step range', disabled: seriesNames.length === 0 },
              ]}
              allowDeselect={false}
              w={160}
              {...form.getInputProps('kind')}
            />
            {draft.kind === 'param' && (
              <Select label="Param" data={paramPaths} searchable w={240} {...form.getInputProps('param')} />
            )}
            {draft.kind === 'series' && (
              <>
                <Select label="Series" data={seriesNames} w={180} {...form.getInputProps('series')} />
                <NumberInput label="From step" min={0} allowDecimal={false} w={120} {...form.getInputProps('from')} />
                <NumberInput label="To step" min={0} allowDecimal={false} w={120} {...form.getInputProps('to')} />
              </>
            )}
            <Button type="submit" disabled={draft.body.trim() === ''} loading={m.comment.isPending}>
              Comment
            </Button>
          </Group>
          {m.comment.error !== null && <ErrorAlert error={m.comment.error} title="The comment was not saved" />}
        </Stack>
      </form>
    </Stack>
  );
}

function CommentItem({
  runId,
  comment: c,
  canEdit,
  canDelete,
}: {
  runId: string;
  comment: RunComment;
  canEdit: boolean;
  canDelete: boolean;
}) {
  const m = useRunMutations(runId);
  const [editing, setEditing] = useState(false);
  return (
    <Paper withBorder p="sm" radius="sm" component="article" aria-label={`Comment by ${nameOr(c.author_name, c.author)}`}>
      <Group justify="space-between" gap="xs">
        <Text size="sm" fw={600}>
          {nameOr(c.author_name, c.author)}
          <Text span size="xs" c="dimmed" fw={400}>
            {' · '}
            <time dateTime={c.at} title={formatDateTime(c.at)}>
              {formatRelative(c.at)}
            </time>
            {c.edited_at !== null ? ' · edited' : ''}
          </Text>
        </Text>
        {!c.deleted && (
          <Group gap={4}>
            {canEdit && !editing && (
              <Button size="compact-xs" variant="subtle" onClick={() => { setEditing(true); }}>
                Edit
              </Button>
            )}
            {canDelete && (
              <Button
                size="compact-xs"
                variant="subtle"
                color="red"
                loading={m.deleteComment.isPending}
                onClick={() => { m.deleteComment.mutate(c.id); }}
              >
                Delete
              </Button>
            )}
          </Group>
        )}
      </Group>
      {c.anchor !== null && (
        <Anchor component={Link} to={{ hash: anchorHash(c.anchor) }} size="sm">
          {anchorLabel(c.anchor)}
        </Anchor>
      )}
      {c.deleted ? (
        <Text size="sm" c="dimmed" fs="italic">
          This comment was deleted.
        </Text>
      ) : editing ? (
        <TextEditForm
          label="Edit comment"
          initial={c.body}
          rows={2}
          maxLength={8192}
          submitLabel="Save"
          pending={m.editComment.isPending}
          required
          onSave={(body) => { m.editComment.mutate({ id: c.id, body }, { onSuccess: () => { setEditing(false); } }); }}
          onCancel={() => { setEditing(false); }}
        />
      ) : (
        <Text size="sm" className={classes.notes}>
          {c.body}
        </Text>
      )}
      {m.editComment.error !== null && <ErrorAlert error={m.editComment.error} />}
      {m.deleteComment.error !== null && <ErrorAlert error={m.deleteComment.error} />}
    </Paper>
  );
}
