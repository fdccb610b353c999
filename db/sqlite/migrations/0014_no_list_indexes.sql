-- Schema version 14: the query index in memory (runindex.go) answers every
-- list of runs, the plain pages too, so the seven list indexes of the runs
-- table have no reader left. Every create wrote each of them: with them a
-- run's row cost nine B-tree inserts, and dropping them doubled the rate
-- of raw creates (docs/benchmarks.md, issue 22).
DROP INDEX runs_page;
DROP INDEX runs_project;
DROP INDEX runs_status;
DROP INDEX runs_project_status;
DROP INDEX runs_review;
DROP INDEX runs_project_review;
DROP INDEX runs_outdated;
