-- Schema version 10: the names live runs use (param paths, metric names,
-- series names), per project, with the number of live runs that have each,
-- for completion and the column chooser (db.ListRunKeys). Derived: every
-- run write moves it in the same transaction (a deleted run's names are
-- taken away, a restored run's given back, a name no live run has is
-- removed); never exported, rebuilt by an import as runs are written.
-- key: "p:<path>", "m:<name>", "s:<series>". project '' holds the counts of
-- all projects together (project names are never empty), so a list over
-- every project is one index range as well.
CREATE TABLE run_keys (
  project TEXT    NOT NULL,
  key     TEXT    NOT NULL,
  runs    INTEGER NOT NULL,
  PRIMARY KEY (project, key)
) STRICT, WITHOUT ROWID;

-- Built from run_values: metrics; params, except the paths of objects
-- that have a path below them (db.runNames applies the same rule); one row
-- a run (seq 0).
INSERT INTO run_keys (project, key, runs)
SELECT r.project, v.key, count(*)
FROM run_values v JOIN runs r ON r.id = v.run_id
WHERE r.deleted = 0 AND v.seq = 0
  AND ((v.key >= 'm:' AND v.key < 'm;')
    OR (v.key >= 'p:' AND v.key < 'p;'
      AND NOT (v.kind = 0 AND EXISTS (SELECT 1 FROM run_values c
        WHERE c.run_id = v.run_id AND c.key >= v.key || '.' AND c.key < v.key || '/'))))
GROUP BY r.project, v.key;

INSERT INTO run_keys (project, key, runs)
SELECT r.project, 's:' || s.name, count(*)
FROM series s JOIN runs r ON r.id = s.run_id
WHERE r.deleted = 0 AND s.name <> '$time' -- the run's clock (db.ClockSeries) is no series
GROUP BY r.project, s.name;

INSERT INTO run_keys (project, key, runs)
SELECT '', key, sum(runs) FROM run_keys WHERE project <> '' GROUP BY key;
