package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"labreview/db"
)

const auditColumns = "id, at, event, actor_id, user_id, email, session_id, ip, user_agent, details"

func scanAudit(r rowScanner) (db.AuditEvent, error) {
	var e db.AuditEvent
	var at int64
	var details sql.NullString
	if err := r.Scan(&e.ID, &at, &e.Event, &e.ActorID, &e.UserID, &e.Email, &e.SessionID, &e.IP, &e.UserAgent, &details); err != nil {
		return e, err
	}
	e.At = fromMS(at)
	if details.Valid {
		if err := json.Unmarshal([]byte(details.String), &e.Details); err != nil {
			return e, fmt.Errorf("audit event %s: details: %w", e.ID, err)
		}
	}
	return e, nil
}

func auditArgs(e *db.AuditEvent) ([]any, error) {
	var details any
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return nil, fmt.Errorf("details: %w", err)
		}
		details = string(b)
	}
	return []any{e.ID, ms(e.At), e.Event, e.ActorID, e.UserID, e.Email, e.SessionID, e.IP, e.UserAgent, details}, nil
}

const insertAuditSQL = "INSERT INTO audit (" + auditColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// InsertAudit appends an event.
func (s *Store) InsertAudit(ctx context.Context, e *db.AuditEvent) error {
	if e.ID == "" {
		e.ID = db.NewID()
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	args, err := auditArgs(e)
	if err != nil {
		return fmt.Errorf("db: insert audit event: %w", err)
	}
	if _, err := s.exec(ctx, insertAuditSQL, args...); err != nil {
		return fmt.Errorf("db: insert audit event: %w", err)
	}
	return nil
}

// ListAudit returns up to limit events, newest first, and whether more
// exist. Filtered by user, it merges two index walks (events about the
// user, and events by the user), each stopping after limit+1 rows, so a
// page costs the same however long the log is.
func (s *Store) ListAudit(ctx context.Context, f db.AuditFilter, limit int) ([]db.AuditEvent, bool, error) {
	var conds []string
	var args []any
	if f.Event != "" {
		conds, args = append(conds, "event = ?"), append(args, f.Event)
	}
	if f.Before != "" {
		conds, args = append(conds, "id < ?"), append(args, f.Before)
	}
	var query string
	if f.UserID == "" {
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		query = "SELECT " + auditColumns + " FROM audit" + where + " ORDER BY id DESC LIMIT ?"
		args = append(args, limit+1)
	} else {
		rest := ""
		if len(conds) > 0 {
			rest = " AND " + strings.Join(conds, " AND ")
		}
		query = "SELECT " + auditColumns + " FROM audit WHERE id IN (" +
			"SELECT id FROM (SELECT id FROM audit WHERE user_id = ?" + rest + " ORDER BY id DESC LIMIT ?)" +
			" UNION " +
			"SELECT id FROM (SELECT id FROM audit WHERE actor_id = ?" + rest + " ORDER BY id DESC LIMIT ?)" +
			") ORDER BY id DESC LIMIT ?"
		one := append([]any{f.UserID}, args...)
		args = append(append(append(append([]any{}, one...), limit+1), one...), limit+1, limit+1)
	}
	events, err := readAll(ctx, s, func(r *sql.Rows) (db.AuditEvent, error) { return scanAudit(r) }, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("db: list audit: %w", err)
	}
	more := len(events) > limit
	if more {
		events = events[:limit]
	}
	return events, more, nil
}

// DeleteAuditBefore deletes events older than cutoff, in batches, through
// the index on at.
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	return sweepInBatches(ctx, s, "db: delete old audit events",
		"DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1 LIMIT ?2)", ms(cutoff))
}
