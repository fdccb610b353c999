package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"labreview/db"
)

// writeRunValues replaces a run's query values of keys in [from, to) by
// vals, in the write's transaction.
func (s *Store) writeRunValues(ctx context.Context, tx *sql.Tx, runID string, vals []db.QueryValue, from, to string) error {
	if _, err := s.txExec(ctx, tx, trace("DELETE FROM run_values WHERE run_id = ? AND key >= ? AND key < ?"), runID, from, to); err != nil {
		return err
	}
	return s.insertRunValues(ctx, tx, runID, vals)
}

func (s *Store) insertRunValues(ctx context.Context, tx *sql.Tx, runID string, vals []db.QueryValue) error {
	seq := map[string]int{}
	for _, v := range vals {
		var num, txt any
		if v.Num != nil {
			num = *v.Num
		}
		if v.Txt != nil {
			txt = *v.Txt
		}
		if _, err := s.txExec(ctx, tx, trace("INSERT INTO run_values (run_id, key, seq, kind, num, txt) VALUES (?, ?, ?, ?, ?, ?)"),
			runID, v.Key, seq[v.Key], v.Kind, num, txt); err != nil {
			return err
		}
		seq[v.Key]++
	}
	return nil
}

// runValuesChanged says whether a run write changed what RunValues lists.
func runValuesChanged(before, after *db.Run) bool {
	b, _ := json.Marshal([]any{before.Params, before.Metrics, before.Tags, before.Name, before.StartedAt, before.FinishedAt}) // JSON-shaped values always marshal
	a, _ := json.Marshal([]any{after.Params, after.Metrics, after.Tags, after.Name, after.StartedAt, after.FinishedAt})
	return string(a) != string(b)
}

// writeSeriesValues replaces the query values of one series' summary.
func (s *Store) writeSeriesValues(ctx context.Context, tx *sql.Tx, runID string, sum db.SeriesSummary) error {
	if _, err := s.txExec(ctx, tx, trace("DELETE FROM run_values WHERE run_id = ? AND key IN (?, ?, ?, ?)"), runID,
		db.SeriesKey("min", sum.Name), db.SeriesKey("max", sum.Name), db.SeriesKey("last", sum.Name), db.SeriesKey("count", sum.Name)); err != nil {
		return err
	}
	return s.insertRunValues(ctx, tx, runID, db.SeriesValues(sum))
}
