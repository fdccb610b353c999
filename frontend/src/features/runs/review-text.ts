/** Words the run page uses for who did what: reviews and run creators. */
import type { ReviewEntry, Run } from './types';

/**
 * bulkNote says how a verdict was given: an undo, or a bulk review when its
 * batch reached more than one run (every verdict has a batch of its own, so
 * that one Undo takes back a single verdict or a bulk review alike).
 */
export function bulkNote(h: ReviewEntry): string {
  const size = h.batch_size;
  if (h.undo_of !== undefined && h.undo_of !== '') {
    return size > 1 ? ` (undo of a bulk review, ${String(size)} runs)` : ' (undo)';
  }
  return size > 1 ? ` (bulk review of ${size.toLocaleString()} runs)` : '';
}

/** nameOr names a person by their name, or by their id when the account is gone (the server sends no name). */
export function nameOr(name: string | undefined, id: string): string {
  return name !== undefined && name !== '' ? name : `a deleted user (${id})`;
}

/**
 * creator names who created a run and with which API token; an id stands
 * in only for a user or token that is gone.
 */
export function creator(c: Run['created_by']): string {
  const who = nameOr(c.user_name, c.user_id);
  if (c.token_id === undefined || c.token_id === '') {
    return `${who}, signed in`;
  }
  const token = c.token_name !== undefined && c.token_name !== '' ? `“${c.token_name}”` : `a deleted token (${c.token_id})`;
  return `${who}, with the API token ${token}`;
}
