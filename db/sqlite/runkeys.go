package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"labreview/db"
)

// moveNames applies a run write's key delta (db.NamesDelta) to its
// project's rows of run_keys and to the rows of all projects, in the
// write's transaction: a row that reaches zero runs is removed.
func (s *Store) moveNames(ctx context.Context, tx *sql.Tx, project string, delta map[string]int64) error {
	keys := make([]string, 0, len(delta))
	for k := range delta {
		keys = append(keys, k)
	}
	sort.Strings(keys) // one order of row locks and writes
	for _, k := range keys {
		for _, p := range []string{project, db.AllProjects} {
			if _, err := s.txExec(ctx, tx, trace("INSERT INTO run_keys (project, key, runs) VALUES (?, ?, ?) "+
				"ON CONFLICT (project, key) DO UPDATE SET runs = runs + excluded.runs"), p, k, delta[k]); err != nil {
				return err
			}
			if delta[k] < 0 {
				if _, err := s.txExec(ctx, tx, trace("DELETE FROM run_keys WHERE project = ? AND key = ? AND runs <= 0"), p, k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// runSeriesNames lists a run's series names, in the write's transaction.
func (s *Store) runSeriesNames(ctx context.Context, tx *sql.Tx, runID string) ([]string, error) {
	rows, err := s.txQuery(ctx, tx, trace("SELECT name FROM series WHERE run_id = ? ORDER BY name"), runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// moveRunNames moves the keys of a run write from before (nil: a new run)
// to after, with the run's series when it was deleted or restored.
func (s *Store) moveRunNames(ctx context.Context, tx *sql.Tx, before, after *db.Run) error {
	var series []string
	if before != nil && db.NamesNeedSeries(before, after) {
		var err error
		if series, err = s.runSeriesNames(ctx, tx, after.ID); err != nil {
			return err
		}
	}
	return s.moveNames(ctx, tx, after.Project, db.NamesDelta(before, after, series))
}

// moveSeriesNames counts new series of a run in its project's keys (by
// +1), or removed ones (by -1), unless the run is deleted.
func (s *Store) moveSeriesNames(ctx context.Context, tx *sql.Tx, runID string, names []string, by int64) error {
	if len(names) == 0 {
		return nil
	}
	var project string
	var deleted int
	err := s.txRow(ctx, tx, trace("SELECT project, deleted FROM runs WHERE id = ?"), runID).Scan(&project, &deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // no run (an imported series whose run was not imported): no keys
	case err != nil:
		return err
	case deleted == 1:
		return nil
	}
	delta := make(map[string]int64, len(names))
	for _, n := range names {
		delta[db.NameSeries+n] = by
	}
	return s.moveNames(ctx, tx, project, delta)
}

const runKeysSQL = "SELECT key FROM run_keys WHERE project = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?"

// ListRunKeys reads one range of run_keys' primary key per kind.
func (s *Store) ListRunKeys(ctx context.Context, project, prefix string, limit int) (*db.RunKeys, error) {
	out := &db.RunKeys{}
	for _, kind := range db.RunKeyKinds {
		from, to := db.KeyRange(kind, prefix)
		keys, err := readAll(ctx, s, func(r *sql.Rows) (string, error) {
			var k string
			err := r.Scan(&k)
			return strings.TrimPrefix(k, kind), err
		}, runKeysSQL, project, from, to, limit+1)
		if err != nil {
			return nil, fmt.Errorf("db: list run keys: %w", err)
		}
		if len(keys) > limit {
			keys, out.Truncated = keys[:limit], true
		}
		*out.Kind(kind) = keys
	}
	return out, nil
}
