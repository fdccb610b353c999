-- Schema version 13: what the MLflow-compatible API keeps of a run beyond
-- labreview's fields, and the index of runs' files (artifacts).
--
-- key_tags: MLflow's key-value run tags, a JSON object of strings.
-- param_text: the exact text of params stored as numbers where the
-- number's own text differs, by param path (a JSON object of strings).
ALTER TABLE runs ADD COLUMN key_tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN param_text TEXT NOT NULL DEFAULT '{}';

-- A run's files. The bytes live beside the database, content-addressed:
-- data_dir/artifacts/<first two hex digits>/<sha256>; this table is the
-- index. The primary key serves a run's listing (a path prefix is a
-- range), a file's lookup and the per-run count; artifacts_project sums a
-- project's bytes without reading the rows; artifacts_blob finds whether
-- another file still uses a blob before it is removed.
CREATE TABLE artifacts (
  run_id       TEXT    NOT NULL,
  path         TEXT    NOT NULL,
  project      TEXT    NOT NULL,
  size         INTEGER NOT NULL CHECK (size >= 0),
  sha256       TEXT    NOT NULL,
  content_type TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  created_by   TEXT    NOT NULL,
  PRIMARY KEY (run_id, path)
) STRICT, WITHOUT ROWID;
CREATE INDEX artifacts_project ON artifacts (project, size);
CREATE INDEX artifacts_blob ON artifacts (sha256);
