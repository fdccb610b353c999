import { describe, expect, it } from 'vitest';

import { bulkNote, creator } from './review-text';

const entry = { id: 'e', state: 'approved', by: 'u', by_name: 'Ada', comment: '', at: '2026-01-01T00:00:00Z', batch_id: 'b' } as const;

describe('bulkNote', () => {
  it('labels a batch bulk only when it reached more than one run', () => {
    expect(bulkNote({ ...entry, batch_size: 1 })).toBe('');
    expect(bulkNote({ ...entry, batch_size: 0 })).toBe('');
    expect(bulkNote({ ...entry, batch_size: 3 })).toBe(' (bulk review of 3 runs)');
    expect(bulkNote({ ...entry, batch_size: 1, undo_of: 'b0' })).toBe(' (undo)');
    expect(bulkNote({ ...entry, batch_size: 2, undo_of: 'b0' })).toBe(' (undo of a bulk review, 2 runs)');
  });
});

describe('creator', () => {
  it('names the user and the token, and falls back to ids for those that are gone', () => {
    expect(creator({ user_id: 'u1', user_name: 'Ada' })).toBe('Ada, signed in');
    expect(creator({ user_id: 'u1', user_name: 'Ada', token_id: 't1', token_name: 'cluster' })).toBe(
      'Ada, with the API token “cluster”',
    );
    expect(creator({ user_id: 'u1', token_id: 't1' })).toBe('a deleted user (u1), with the API token a deleted token (t1)');
  });
});
