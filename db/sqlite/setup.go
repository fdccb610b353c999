package sqlite

import (
	"context"
	"fmt"
	"time"

	"labreview/db"
)

// ClaimSetup inserts the one setup row; the primary key makes every later
// claim a conflict.
func (s *Store) ClaimSetup(ctx context.Context, userID string, now time.Time) error {
	if _, err := s.exec(ctx, "INSERT INTO setup (id, user_id, at) VALUES (1, ?, ?)", userID, ms(now)); err != nil {
		return fmt.Errorf("db: claim setup: %w", err)
	}
	return nil
}

// ReleaseSetup removes userID's claim.
func (s *Store) ReleaseSetup(ctx context.Context, userID string) error {
	if _, err := s.exec(ctx, "DELETE FROM setup WHERE id = 1 AND user_id = ?", userID); err != nil {
		return fmt.Errorf("db: release setup: %w", err)
	}
	return nil
}

// WithLease takes the lease in one upsert that succeeds only when the lease
// is free or expired, runs fn, and gives the lease back.
func (s *Store) WithLease(ctx context.Context, name string, ttl, wait time.Duration, fn func() error) error {
	holder := db.NewID()
	deadline := time.Now().Add(wait)
	for {
		now := time.Now()
		res, err := s.exec(ctx, `INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until WHERE leases.until < ?4`,
			name, holder, ms(now.Add(ttl)), ms(now))
		if err != nil {
			return fmt.Errorf("db: take lease %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			return db.ErrLeaseHeld
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer func() {
		_, _ = s.exec(context.WithoutCancel(ctx), "UPDATE leases SET until = 0 WHERE name = ? AND holder = ?", name, holder)
	}()
	return fn()
}
