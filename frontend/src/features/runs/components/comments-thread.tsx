import { Anchor, Button, Group, NumberInput, Paper, Select, Stack, Text, Textarea } from '@mantine/core';
import { useRef, useState } from 'react';
import { Link } from 'react-router';

import { ErrorAlert } from '@/components/error-alert';
import { formatDateTime, formatRelative } from '@/lib/format';

import { useComments, useRunMutations } from '../api/runs';
import classes from '../runs.module.css';
import { anchorHash } from '../links';
import type { CommentAnchor, RunComment } from '../types';

function anchorLabel(anchor: CommentAnchor): string {
  return 'param' in anchor
    ? `param ${anchor.param}`
    : `${anchor.series}, steps ${String(anchor.from)}–${String(anchor.to)}`;
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
  const [body, setBodyState] = useState('');
  // The draft as it is now, for a send that finishes after the user has
  // started the next comment.
  const draft = useRef('');
  const setBody = (v: string) => {
    draft.current = v;
    setBodyState(v);
  };
  const [kind, setKind] = useState<'none' | 'param' | 'series'>('none');
  const [param, setParam] = useState<string | null>(null);
  const [series, setSeries] = useState<string | null>(null);
  const [from, setFrom] = useState<number | string>(0);
  const [to, setTo] = useState<number | string>(0);

  const anchor = (): CommentAnchor | undefined => {
    if (kind === 'param' && param !== null) {
      return { param };
    }
    if (kind === 'series' && series !== null && typeof from === 'number' && typeof to === 'number') {
      return { series, from, to };
    }
    return undefined;
  };

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
        onSubmit={(e) => {
          e.preventDefault();
          if (body.trim() === '') {
            return;
          }
          const a = anchor();
          const sent = body;
          m.comment.mutate(a === undefined ? { body } : { body, anchor: a }, {
            onSuccess: () => {
              // A draft typed while this one was being sent is the next
              // comment: it stays, with what it points at.
              if (draft.current === sent) {
                setBody('');
                setKind('none');
              }
            },
          });
        }}
      >
        <Stack gap="xs">
          <Textarea
            label="Add a comment"
            value={body}
            onChange={(e) => { setBody(e.currentTarget.value); }}
            resize="vertical"
            rows={2}
            maxLength={8192}
          />
          <Group gap="xs" align="flex-end">
            <Select
              label="Points at"
              data={[
                { value: 'none', label: 'Nothing' },
                { value: 'param', label: 'A param', disabled: paramPaths.length === 0 },
                { value: 'series', label: 'A step range', disabled: seriesNames.length === 0 },
              ]}
              value={kind}
              allowDeselect={false}
              onChange={(v) => { setKind((v) ?? 'none'); }}
              w={160}
            />
            {kind === 'param' && (
              <Select label="Param" data={paramPaths} value={param} onChange={setParam} searchable w={240} />
            )}
            {kind === 'series' && (
              <>
                <Select label="Series" data={seriesNames} value={series} onChange={setSeries} w={180} />
                <NumberInput label="From step" value={from} onChange={setFrom} min={0} allowDecimal={false} w={120} />
                <NumberInput label="To step" value={to} onChange={setTo} min={0} allowDecimal={false} w={120} />
              </>
            )}
            <Button type="submit" disabled={body.trim() === ''} loading={m.comment.isPending}>
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
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <Paper withBorder p="sm" radius="sm" component="article" aria-label={`Comment by ${c.author_name ?? c.author}`}>
      <Group justify="space-between" gap="xs">
        <Text size="sm" fw={600}>
          {c.author_name ?? c.author}
          <Text span size="xs" c="dimmed" fw={400}>
            {' · '}
            <time dateTime={c.at} title={formatDateTime(c.at)}>
              {formatRelative(c.at)}
            </time>
            {c.edited_at !== undefined && c.edited_at !== null ? ' · edited' : ''}
          </Text>
        </Text>
        {!c.deleted && (
          <Group gap={4}>
            {canEdit && editing === null && (
              <Button size="compact-xs" variant="subtle" onClick={() => { setEditing(c.body ?? ''); }}>
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
      {c.anchor !== undefined && c.anchor !== null && (
        <Anchor component={Link} to={{ hash: anchorHash(c.anchor) }} size="sm">
          {anchorLabel(c.anchor)}
        </Anchor>
      )}
      {c.deleted ? (
        <Text size="sm" c="dimmed" fs="italic">
          This comment was deleted.
        </Text>
      ) : editing !== null ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            m.editComment.mutate({ id: c.id, body: editing }, { onSuccess: () => { setEditing(null); } });
          }}
        >
          <Textarea
            label="Edit comment"
            value={editing}
            onChange={(e) => { setEditing(e.currentTarget.value); }}
            resize="vertical"
            rows={2}
            maxLength={8192}
          />
          <Group gap="xs" mt="xs">
            <Button size="xs" type="submit" loading={m.editComment.isPending} disabled={editing.trim() === ''}>
              Save
            </Button>
            <Button size="xs" variant="default" onClick={() => { setEditing(null); }}>
              Cancel
            </Button>
          </Group>
        </form>
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
