-- Schema version 2: a refresh-token rotation no longer moves an index entry.
-- sessions_user ended in last_used_at, which every rotation changes, so each
-- rotation rewrote a page of that index besides the row's. A user's live
-- sessions are few; they are now sorted by last use after the index finds
-- them (EXPLAIN: SEARCH … USING INDEX sessions_user, then a temporary B-tree
-- over that user's rows only).
DROP INDEX sessions_user;
CREATE INDEX sessions_user ON sessions (user_id, revoked_at);
