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
	take := func(now time.Time) (bool, error) {
		res, err := s.exec(ctx, `INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until WHERE leases.until < ?4`,
			name, holder, ms(now.Add(ttl)), ms(now))
		if err != nil {
			return false, fmt.Errorf("db: take lease %s: %w", name, err)
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	release := func(ctx context.Context) {
		_, _ = s.exec(ctx, "UPDATE leases SET until = 0 WHERE name = ? AND holder = ?", name, holder)
	}
	return db.HoldLease(ctx, wait, take, release, fn)
}
