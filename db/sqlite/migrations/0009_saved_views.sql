-- Schema version 9: saved views of the runs table, per user. The primary
-- key serves every query: a user's views (a range of it), one view, the
-- count against the per-user limit, and the cascade when the user is
-- deleted (foreign_keys is on for every connection).
CREATE TABLE saved_views (
  user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  search     TEXT    NOT NULL,                     -- the URL query string of the view
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, name)
) STRICT, WITHOUT ROWID;
