-- Schema version 5: runs. A run's params can reach 64 KiB, so the table
-- keeps its rowid (WITHOUT ROWID suits small rows only). Ids are
-- time-ordered, so "newest first" is id order; every list filter has an
-- index that ends in id, so a page is an index walk that stops after it.
CREATE TABLE runs (
  id               TEXT    NOT NULL UNIQUE,
  project          TEXT    NOT NULL,
  external_id      TEXT    NOT NULL,
  name             TEXT    NOT NULL,
  status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  host             TEXT    NOT NULL,
  job_id           TEXT    NOT NULL,
  created_by       TEXT    NOT NULL,
  created_by_token TEXT    NOT NULL,
  params           TEXT    NOT NULL,               -- JSON object
  metrics          TEXT    NOT NULL,               -- JSON object; NaN and ±Inf as "NaN", "Infinity", "-Infinity"
  tags             TEXT    NOT NULL,               -- JSON array
  notes            TEXT    NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  heartbeat_at     INTEGER,
  deleted          INTEGER NOT NULL CHECK (deleted IN (0, 1)),
  deleted_at       INTEGER,
  version          INTEGER NOT NULL
) STRICT;
-- A retried create finds its run; the rule of one run per external id.
CREATE UNIQUE INDEX runs_external ON runs (project, external_id);
-- Pages of live (or deleted) runs, by project, status or both.
CREATE INDEX runs_page ON runs (deleted, id);
CREATE INDEX runs_project ON runs (deleted, project, id);
CREATE INDEX runs_status ON runs (deleted, status, id);
CREATE INDEX runs_project_status ON runs (deleted, project, status, id);
