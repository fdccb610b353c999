-- Schema version 4: API tokens for cluster jobs, and the shared server
-- secrets (the key of the token hash). A token's secret is never stored,
-- only its keyed hash (unique, so a presented token is found by an index).
CREATE TABLE api_tokens (
  id           TEXT    NOT NULL PRIMARY KEY,
  user_id      TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  hash         TEXT    NOT NULL,
  hint         TEXT    NOT NULL,
  scopes       TEXT    NOT NULL,                   -- JSON array of scope names
  projects     TEXT    NOT NULL,                   -- JSON array; empty: every project
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (hash);
-- A user's tokens, newest first (ids are time-ordered).
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE TABLE secrets (
  name  TEXT NOT NULL PRIMARY KEY,
  value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
