package sqlite

import (
	"context"
	"fmt"
	"time"

	"labreview/db"
)

// CounterState returns key's counter as of now.
func (s *Store) CounterState(ctx context.Context, key string, now time.Time) (db.Counter, error) {
	var failures int
	var ends int64
	err := s.readRow(ctx, []any{&failures, &ends}, "SELECT failures, window_ends FROM login_throttle WHERE key = ?", key)
	switch {
	case err == nil:
	case isNotFound(err):
		return db.Counter{}, nil
	default:
		return db.Counter{}, fmt.Errorf("db: read counter: %w", err)
	}
	c := db.Counter{Failures: failures, WindowEnds: fromMS(ends)}
	if !now.Before(c.WindowEnds) {
		return db.Counter{}, nil
	}
	return c, nil
}

// CountFailure counts one failure in a single upsert: it adds to a running
// window or starts a new one, and returns the counter after it.
func (s *Store) CountFailure(ctx context.Context, key string, window time.Duration, now time.Time) (db.Counter, error) {
	var failures int
	var ends int64
	err := s.writeRow(ctx, []any{&failures, &ends}, `INSERT INTO login_throttle (key, failures, window_ends) VALUES (?1, 1, ?3)
		ON CONFLICT (key) DO UPDATE SET
			failures    = CASE WHEN window_ends > ?2 THEN failures + 1 ELSE 1 END,
			window_ends = CASE WHEN window_ends > ?2 THEN window_ends ELSE ?3 END
		RETURNING failures, window_ends`, key, ms(now), ms(now.Add(window)))
	if err != nil {
		return db.Counter{}, fmt.Errorf("db: count failure: %w", err)
	}
	return db.Counter{Failures: failures, WindowEnds: fromMS(ends)}, nil
}

// ReleaseAttempt takes back one counted attempt.
func (s *Store) ReleaseAttempt(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, "UPDATE login_throttle SET failures = failures - 1 WHERE key = ? AND failures > 0", key); err != nil {
		return fmt.Errorf("db: release attempt: %w", err)
	}
	return nil
}

// ResetCounter clears key.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, "DELETE FROM login_throttle WHERE key = ?", key); err != nil {
		return fmt.Errorf("db: reset counter: %w", err)
	}
	return nil
}

// SweepCounters deletes counters whose window ended before cutoff.
func (s *Store) SweepCounters(ctx context.Context, cutoff time.Time) error {
	_, err := sweepInBatches(ctx, s, "db: sweep counters",
		"DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle WHERE window_ends < ?1 LIMIT ?2)", ms(cutoff))
	return err
}
