-- Schema version 7: reviews with their history, comments, and projects.
-- A run carries its current verdict; review_outdated is set in the same
-- write that changes the data the verdict judged (params, metrics,
-- series), so "outdated" is a stored, indexable fact.
ALTER TABLE runs ADD COLUMN data_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN review_state TEXT NOT NULL DEFAULT 'unreviewed'
  CHECK (review_state IN ('unreviewed', 'approved', 'rejected', 'needs_rerun'));
ALTER TABLE runs ADD COLUMN review_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN review_by TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN review_at INTEGER;
ALTER TABLE runs ADD COLUMN review_comment TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN review_data_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN review_outdated INTEGER NOT NULL DEFAULT 0 CHECK (review_outdated IN (0, 1));
-- Review queues: a project's runs by verdict, newest first.
CREATE INDEX runs_review ON runs (deleted, review_state, id);
CREATE INDEX runs_project_review ON runs (deleted, project, review_state, id);
CREATE INDEX runs_outdated ON runs (deleted, review_outdated, id) WHERE review_outdated = 1;

-- Every verdict ever given; rows are only added.
CREATE TABLE reviews (
  id           TEXT    NOT NULL PRIMARY KEY,
  run_id       TEXT    NOT NULL,
  state        TEXT    NOT NULL,
  by_user      TEXT    NOT NULL,
  at           INTEGER NOT NULL,
  comment      TEXT    NOT NULL,
  batch_id     TEXT    NOT NULL,
  undo_of      TEXT    NOT NULL,
  data_version INTEGER NOT NULL,
  snapshot     TEXT    NOT NULL                    -- JSON: params, metrics, series counts
) STRICT;
CREATE INDEX reviews_run ON reviews (run_id, id);
CREATE INDEX reviews_batch ON reviews (batch_id, id);

-- Comments on runs; an edit keeps the earlier texts in history (JSON).
CREATE TABLE comments (
  id         TEXT    NOT NULL PRIMARY KEY,
  run_id     TEXT    NOT NULL,
  author     TEXT    NOT NULL,
  at         INTEGER NOT NULL,
  body       TEXT    NOT NULL,
  anchor     TEXT    NOT NULL,                     -- JSON: {} or {"param"} or {"series","from","to"}
  edited_at  INTEGER,
  deleted_at INTEGER,
  history    TEXT    NOT NULL                      -- JSON array of {"body","at"}, oldest first
) STRICT;
CREATE INDEX comments_run ON comments (run_id, id);

-- Projects: counters moved by every run write in the same transaction
-- (JSON object of db.ProjectDelta's keys), and the baseline run.
CREATE TABLE projects (
  name          TEXT    NOT NULL PRIMARY KEY,
  counts        TEXT    NOT NULL,
  last_activity INTEGER NOT NULL,
  baseline_run  TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
