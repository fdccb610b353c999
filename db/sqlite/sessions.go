package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"labreview/db"
)

const sessionColumns = "id, user_id, secret_hash, prev_hash, prev_replaced_at, old_hashes, created_at, last_used_at, " +
	"idle_expires_at, expires_at, user_agent, ip, revoked_at, revoked_reason"

func scanSession(r rowScanner) (db.Session, error) {
	var s db.Session
	var prevReplaced, created, lastUsed, idle, expires int64
	var old string
	var revoked sql.NullInt64
	err := r.Scan(&s.ID, &s.UserID, &s.SecretHash, &s.PrevHash, &prevReplaced, &old, &created, &lastUsed,
		&idle, &expires, &s.UserAgent, &s.IP, &revoked, &s.RevokedReason)
	if err != nil {
		return s, err
	}
	s.PrevReplacedAt, s.CreatedAt, s.LastUsedAt = fromMS(prevReplaced), fromMS(created), fromMS(lastUsed)
	s.IdleExpiresAt, s.ExpiresAt, s.RevokedAt = fromMS(idle), fromMS(expires), fromOptMS(revoked)
	s.OldHashes = []string{}
	if err := json.Unmarshal([]byte(old), &s.OldHashes); err != nil {
		return s, fmt.Errorf("session %s: old_hashes: %w", s.ID, err)
	}
	return s, nil
}

func stringsJSON(h []string) string {
	if h == nil {
		h = []string{}
	}
	b, _ := json.Marshal(h) // a []string always marshals
	return string(b)
}

func sessionArgs(s *db.Session) []any {
	return []any{s.ID, s.UserID, s.SecretHash, s.PrevHash, ms(s.PrevReplacedAt), stringsJSON(s.OldHashes),
		ms(s.CreatedAt), ms(s.LastUsedAt), ms(s.IdleExpiresAt), ms(s.ExpiresAt), s.UserAgent, s.IP,
		optMS(s.RevokedAt), s.RevokedReason}
}

const insertSessionSQL = "INSERT INTO sessions (" + sessionColumns + ") VALUES (" + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?" + ")"

// InsertSession stores a new session.
func (s *Store) InsertSession(ctx context.Context, sess *db.Session) error {
	if _, err := s.exec(ctx, insertSessionSQL, sessionArgs(sess)...); err != nil {
		return fmt.Errorf("db: insert session: %w", err)
	}
	return nil
}

// SessionByID finds a session, live or not.
func (s *Store) SessionByID(ctx context.Context, id string) (*db.Session, error) {
	release, err := s.readTurn(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: find session: %w", err)
	}
	defer release()
	st, err := s.prepared(ctx, s.r, "SELECT "+sessionColumns+" FROM sessions WHERE id = ?")
	if err != nil {
		return nil, fmt.Errorf("db: find session: %w", classify(err))
	}
	sess, err := scanSession(st.QueryRowContext(ctx, id))
	if err != nil {
		return nil, fmt.Errorf("db: find session: %w", classify(err))
	}
	return &sess, nil
}

// RotateSession rotates the secret in one conditional UPDATE … RETURNING:
// the list of superseded hashes is rebuilt in SQL from the row's old
// values, so no read comes first.
func (s *Store) RotateSession(ctx context.Context, id, presented, newHash string, now time.Time, idle time.Duration, keepOld int) (*db.Session, error) {
	var sess db.Session
	err := s.writeStmt(ctx, `UPDATE sessions SET
			secret_hash = ?3,
			prev_hash = secret_hash,
			prev_replaced_at = ?4,
			old_hashes = CASE WHEN prev_hash = '' THEN old_hashes ELSE (
				SELECT json_group_array(h ORDER BY k) FROM (
					SELECT -1 AS k, prev_hash AS h
					UNION ALL
					SELECT key, value FROM json_each(old_hashes)
				) WHERE k < ?6 - 1) END,
			last_used_at = ?4,
			idle_expires_at = min(?4 + ?5, expires_at)
		WHERE id = ?1 AND secret_hash = ?2 AND revoked_at IS NULL AND idle_expires_at > ?4 AND expires_at > ?4
		RETURNING `+sessionColumns, func(ctx context.Context, st *sql.Stmt) error {
		var err error
		sess, err = scanSession(st.QueryRowContext(ctx, id, presented, newHash, ms(now), idle.Milliseconds(), keepOld))
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("db: rotate session: %w", err)
	}
	return &sess, nil
}

// TouchSession records use of an unrevoked session.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	if _, err := s.exec(ctx, "UPDATE sessions SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL", ms(now), id); err != nil {
		return fmt.Errorf("db: touch session: %w", err)
	}
	return nil
}

// RevokeSession ends a session.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	res, err := s.exec(ctx, "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
		ms(now), reason, id)
	if err != nil {
		return false, fmt.Errorf("db: revoke session: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RevokeUserSessions ends a user's unrevoked sessions except keep, in one
// statement, and returns their ids.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep, reason string, now time.Time) ([]string, error) {
	ids := []string{}
	err := s.writeStmt(ctx, `UPDATE sessions SET revoked_at = ?, revoked_reason = ?
		WHERE user_id = ? AND revoked_at IS NULL AND id != ? RETURNING id`, func(ctx context.Context, st *sql.Stmt) error {
		rows, err := st.QueryContext(ctx, ms(now), reason, userID, keep)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("db: revoke user sessions: %w", err)
	}
	return ids, nil
}

// LiveSessions lists a user's live sessions, most recently used first.
func (s *Store) LiveSessions(ctx context.Context, userID string, now time.Time) ([]db.Session, error) {
	list, err := readAll(ctx, s, func(r *sql.Rows) (db.Session, error) { return scanSession(r) },
		"SELECT "+sessionColumns+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND idle_expires_at > ? AND expires_at > ?
		ORDER BY last_used_at DESC`, userID, ms(now), ms(now))
	if err != nil {
		return nil, fmt.Errorf("db: list sessions: %w", err)
	}
	return list, nil
}

// SweepSessions deletes sessions that ended before cutoff, in batches so
// that a large sweep never holds the writer for long.
func (s *Store) SweepSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	return sweepInBatches(ctx, s, "db: sweep sessions", `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions
		WHERE expires_at < ?1 OR idle_expires_at < ?1 OR (revoked_at IS NOT NULL AND revoked_at < ?1)
		LIMIT ?2)`, ms(cutoff))
}

// sweepBatch is how many rows one sweep statement deletes.
const sweepBatch = 1000

// sweepInBatches runs query, which deletes at most ?2 rows matching ?1,
// until it deletes fewer than a batch.
func sweepInBatches(ctx context.Context, s *Store, what, query string, arg any) (int64, error) {
	var total int64
	for {
		res, err := s.exec(ctx, query, arg, sweepBatch)
		if err != nil {
			return total, fmt.Errorf("%s: %w", what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("%s: %w", what, err)
		}
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}
