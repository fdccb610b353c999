-- Schema version 3: the confusable skeleton of each email (Unicode TR 39,
-- computed by auth), so that a new address that looks like an existing one
-- (Cyrillic "а" for Latin "a", dotless "ı" for "i") is found by an index.
-- Existing rows get it at the next start (auth fills in empty ones).
ALTER TABLE users ADD COLUMN email_skeleton TEXT NOT NULL DEFAULT '';
CREATE INDEX users_email_skeleton ON users (email_skeleton);
