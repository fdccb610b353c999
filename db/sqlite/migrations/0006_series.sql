-- Schema version 6: series points in chunks (db.ChunkPoints points each,
-- packed by db.EncodePoints, so a row fits in one page) with a summary per
-- chunk (db.EncodeSummary: one 72-byte value, which a read of thousands of
-- summaries fetches far faster than nine columns), and a summary per
-- series for lists and queries. SQLite stores NaN as NULL: a NULL value
-- column of the series table reads back as NaN.
CREATE TABLE series_chunks (
  run_id     TEXT    NOT NULL,
  series     TEXT    NOT NULL,
  first_step INTEGER NOT NULL,
  summary    BLOB    NOT NULL,
  points     BLOB    NOT NULL,
  PRIMARY KEY (run_id, series, first_step)
) STRICT;
-- The summaries of a series' chunks without touching the points: a
-- downsampled read walks this covering index.
CREATE INDEX series_chunks_summary ON series_chunks (run_id, series, first_step, summary);

CREATE TABLE series (
  run_id     TEXT    NOT NULL,
  name       TEXT    NOT NULL,
  count      INTEGER NOT NULL,
  first_step INTEGER NOT NULL,
  last_step  INTEGER NOT NULL,
  min_value  REAL,
  max_value  REAL,
  last_value REAL,
  PRIMARY KEY (run_id, name)
) STRICT, WITHOUT ROWID;
