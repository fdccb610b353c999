-- Schema version 1: accounts, sessions, login counters, audit log, signing
-- keys, first-run setup and leases. Times are integer Unix milliseconds;
-- ids are 24-hex-digit strings (db.NewID) except session ids and key ids.
-- Every query the adapter makes is served by an index (explain_test.go).

CREATE TABLE users (
  id                  TEXT    NOT NULL PRIMARY KEY,
  email               TEXT    NOT NULL,            -- normalised by auth, compared byte for byte
  name                TEXT    NOT NULL,
  role                TEXT    NOT NULL CHECK (role IN ('viewer', 'reviewer', 'admin')),
  disabled            INTEGER NOT NULL CHECK (disabled IN (0, 1)),
  password_hash       TEXT    NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_role ON users (role, disabled);

CREATE TABLE sessions (
  id               TEXT    NOT NULL PRIMARY KEY,
  user_id          TEXT    NOT NULL,
  secret_hash      TEXT    NOT NULL,
  prev_hash        TEXT    NOT NULL,
  prev_replaced_at INTEGER NOT NULL,
  old_hashes       TEXT    NOT NULL,               -- JSON array of superseded hashes, newest first
  created_at       INTEGER NOT NULL,
  last_used_at     INTEGER NOT NULL,
  idle_expires_at  INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  user_agent       TEXT    NOT NULL,
  ip               TEXT    NOT NULL,
  revoked_at       INTEGER,
  revoked_reason   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
-- A user's unrevoked sessions, most recently used first.
CREATE INDEX sessions_user ON sessions (user_id, revoked_at, last_used_at);
-- The sweep of ended sessions.
CREATE INDEX sessions_idle_expiry ON sessions (idle_expires_at);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE login_throttle (
  key         TEXT    NOT NULL PRIMARY KEY,
  failures    INTEGER NOT NULL,
  window_ends INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX login_throttle_window ON login_throttle (window_ends);

CREATE TABLE audit (
  id         TEXT    NOT NULL PRIMARY KEY,         -- time-ordered: pages go by id
  at         INTEGER NOT NULL,
  event      TEXT    NOT NULL,
  actor_id   TEXT    NOT NULL,
  user_id    TEXT    NOT NULL,
  email      TEXT    NOT NULL,
  session_id TEXT    NOT NULL,
  ip         TEXT    NOT NULL,
  user_agent TEXT    NOT NULL,
  details    TEXT                                  -- JSON object, or NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX audit_user ON audit (user_id, id);
CREATE INDEX audit_actor ON audit (actor_id, id);
CREATE INDEX audit_event ON audit (event, id);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE signing_keys (
  id          TEXT    NOT NULL PRIMARY KEY,
  alg         TEXT    NOT NULL,
  private_key BLOB    NOT NULL,
  created_at  INTEGER NOT NULL,
  retired_at  INTEGER
) STRICT, WITHOUT ROWID;

-- At most one row: the claim of first-run setup.
CREATE TABLE setup (
  id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  user_id TEXT    NOT NULL,
  at      INTEGER NOT NULL
) STRICT;

CREATE TABLE leases (
  name   TEXT    NOT NULL PRIMARY KEY,
  holder TEXT    NOT NULL,
  until  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Facts about the database itself (where it was imported from, …).
CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
