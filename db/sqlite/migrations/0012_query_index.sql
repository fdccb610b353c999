-- Schema version 12: queries are answered from an in-memory index of the
-- runs (db/sqlite/runindex.go), built from the runs and series tables at
-- start and kept by every run write. The derived tables that served them
-- go: run_values held one row per param leaf keyed by its whole dotted
-- path (indexed three times) and run_keys kept the paths twice more, so a
-- run of 55.7 KB of deep params cost 793 MB (issue 16). A run now costs
-- its row in runs and the series it has, nothing per param.
DROP TABLE run_values;
DROP TABLE run_keys;

-- Counts the run writes (every write of a run, its series or its verdict
-- adds one in its transaction), so that the server's index notices writes
-- made by another process on the same file (the command line's import)
-- and reads the runs again.
CREATE TABLE run_changes (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  n  INTEGER NOT NULL
) STRICT;
INSERT INTO run_changes (id, n) VALUES (1, 0);
