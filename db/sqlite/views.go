package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"labreview/db"
)

const (
	viewColumns   = "user_id, name, search, updated_at"
	listViewsSQL  = "SELECT " + viewColumns + " FROM saved_views WHERE user_id = ?"
	insertViewSQL = "INSERT INTO saved_views (" + viewColumns + ") VALUES (?, ?, ?, ?)"
	// viewStateSQL answers, in one statement of the writer's transaction,
	// whether the user exists, whether the view exists and how many views
	// the user has: three probes of primary keys.
	viewStateSQL = `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1),
		EXISTS (SELECT 1 FROM saved_views WHERE user_id = ?1 AND name = ?2),
		(SELECT count(*) FROM saved_views WHERE user_id = ?1)`
	upsertViewSQL = insertViewSQL +
		" ON CONFLICT (user_id, name) DO UPDATE SET search = excluded.search, updated_at = excluded.updated_at"
)

func scanView(r rowScanner) (db.SavedView, error) {
	var v db.SavedView
	var at int64
	err := r.Scan(&v.UserID, &v.Name, &v.Search, &at)
	v.UpdatedAt = fromMS(at)
	return v, err
}

func viewArgs(v *db.SavedView) []any { return []any{v.UserID, v.Name, v.Search, ms(v.UpdatedAt)} }

// ListSavedViews returns a user's views, sorted by db.SortSavedViews.
func (s *Store) ListSavedViews(ctx context.Context, userID string) ([]db.SavedView, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.SavedView, error) { return scanView(r) }, listViewsSQL, userID)
	if err != nil {
		return nil, fmt.Errorf("db: list saved views: %w", err)
	}
	db.SortSavedViews(out)
	return out, nil
}

// PutSavedView creates or replaces a view in one transaction of the single
// writer, so the limit check and the write cannot interleave with another
// write of the same user.
func (s *Store) PutSavedView(ctx context.Context, v *db.SavedView, limit int) error {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var userExists, viewExists bool
		var n int
		if err := s.txRow(ctx, tx, trace(viewStateSQL), v.UserID, v.Name).Scan(&userExists, &viewExists, &n); err != nil {
			return err
		}
		switch {
		case !userExists:
			return db.ErrNotFound
		case !viewExists && n >= limit:
			return db.ErrLimit
		}
		_, err := s.txExec(ctx, tx, trace(upsertViewSQL), viewArgs(v)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: put saved view: %w", classify(err))
	}
	return nil
}

// DeleteSavedView removes a user's view.
func (s *Store) DeleteSavedView(ctx context.Context, userID, name string) error {
	res, err := s.exec(ctx, "DELETE FROM saved_views WHERE user_id = ? AND name = ?", userID, name)
	if err != nil {
		return fmt.Errorf("db: delete saved view: %w", classify(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("db: delete saved view: %w", err)
	} else if n == 0 {
		return fmt.Errorf("db: delete saved view: %w", db.ErrNotFound)
	}
	return nil
}
