package sqlite

import (
	"context"
	"fmt"
)

// StoredBytes is what the database holds in its cells: the payload of
// every table and index (SQLite's dbstat), without the free space of
// pages. Tests of the storage bound of a run (docs/security.md) compare it
// before and after a write; it reads every page, so it is for tests and
// diagnostics only.
func (s *Store) StoredBytes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.readRow(ctx, []any{&n}, "SELECT coalesce(sum(payload), 0) FROM dbstat"); err != nil {
		return 0, fmt.Errorf("db: stored bytes: %w", err)
	}
	return n, nil
}
