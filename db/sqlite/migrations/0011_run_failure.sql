-- Schema version 11: why a run failed or was cancelled (runs.Failure):
-- a reason of one line (at most 500 characters) and a detail, the end of a
-- traceback or log (at most 16 KiB); '' for none. Set with the failed or
-- cancelled status; the query language reads failure.reason.
ALTER TABLE runs ADD COLUMN failure_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN failure_detail TEXT NOT NULL DEFAULT '';
