-- Schema version 8: the values queries filter on, one row each, so that a
-- condition on any param, metric, tag or series summary is an index range
-- (run_values_num, run_values_txt) instead of a read of every run's JSON.
-- Keys: "p:<path>" params (leaves, and objects and arrays as kind 0),
-- "m:<name>" metrics, "t:" tags, "x:min:<series>" (also max, last, count).
-- kind: 0 no scalar (object, array, null), 1 number (NaN: num NULL, txt
-- 'NaN'), 2 text, 3 bool (num 1 or 0). Written by every run write that
-- changes them, in the same transaction.
CREATE TABLE run_values (
  run_id TEXT    NOT NULL,
  key    TEXT    NOT NULL,
  seq    INTEGER NOT NULL,
  kind   INTEGER NOT NULL CHECK (kind IN (0, 1, 2, 3)),
  num    REAL,
  txt    TEXT,
  PRIMARY KEY (run_id, key, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX run_values_num ON run_values (key, num, run_id);
CREATE INDEX run_values_txt ON run_values (key, txt, run_id);
