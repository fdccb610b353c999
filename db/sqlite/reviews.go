package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"labreview/db"
)

const reviewColumns = "id, run_id, state, by_user, at, comment, batch_id, undo_of, data_version, snapshot"

func scanReview(r rowScanner) (db.ReviewEntry, error) {
	var e db.ReviewEntry
	var at int64
	var snap string
	err := r.Scan(&e.ID, &e.RunID, &e.State, &e.By, &at, &e.Comment, &e.BatchID, &e.UndoOf, &e.DataVersion, &snap)
	e.At, e.Snapshot = fromMS(at), []byte(snap)
	return e, err
}

// ReviewRun adds the entry and sets the run's verdict in one transaction.
func (s *Store) ReviewRun(ctx context.Context, entry *db.ReviewEntry, now time.Time, check func(*db.Run) error) (before, after *db.Run, err error) {
	return s.replaceRun(ctx, entry.RunID, "review run", now, func(tx *sql.Tx, old, upd *db.Run) error {
		if err := check(old); err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, trace("INSERT INTO reviews ("+reviewColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			entry.ID, entry.RunID, entry.State, entry.By, ms(entry.At), entry.Comment, entry.BatchID, entry.UndoOf,
			entry.DataVersion, string(entry.Snapshot)); err != nil {
			return fmt.Errorf("db: review run: %w", classify(err))
		}
		upd.Review = entry.Verdict(old)
		return nil
	})
}

// ReviewHistory lists a run's verdicts, newest first.
func (s *Store) ReviewHistory(ctx context.Context, runID string) ([]db.ReviewEntry, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.ReviewEntry, error) { return scanReview(r) },
		"SELECT "+reviewColumns+" FROM reviews WHERE run_id = ? ORDER BY id DESC", runID)
	if err != nil {
		return nil, fmt.Errorf("db: review history: %w", err)
	}
	return out, nil
}

// ReviewBatch lists the verdicts of one batch.
func (s *Store) ReviewBatch(ctx context.Context, batchID string) ([]db.ReviewEntry, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.ReviewEntry, error) { return scanReview(r) },
		"SELECT "+reviewColumns+" FROM reviews WHERE batch_id = ? ORDER BY id", batchID)
	if err != nil {
		return nil, fmt.Errorf("db: review batch: %w", err)
	}
	return out, nil
}

// ReviewBatchSizes counts each batch's verdicts (index reviews_batch),
// one cached statement per batch.
func (s *Store) ReviewBatchSizes(ctx context.Context, batchIDs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(batchIDs))
	for _, id := range batchIDs {
		if _, done := out[id]; done {
			continue
		}
		n, err := readAll(ctx, s, func(r *sql.Rows) (int64, error) {
			var n int64
			return n, r.Scan(&n)
		}, "SELECT COUNT(*) FROM reviews WHERE batch_id = ?", id)
		if err != nil {
			return nil, fmt.Errorf("db: review batch sizes: %w", err)
		}
		if len(n) == 1 && n[0] > 0 {
			out[id] = n[0]
		}
	}
	return out, nil
}

// ReviewByID finds a verdict.
func (s *Store) ReviewByID(ctx context.Context, id string) (*db.ReviewEntry, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.ReviewEntry, error) { return scanReview(r) },
		"SELECT "+reviewColumns+" FROM reviews WHERE id = ?", id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("db: find review: %w", err)
	case len(out) == 0:
		return nil, fmt.Errorf("db: find review: %w", db.ErrNotFound)
	}
	return &out[0], nil
}
