package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"labreview/db"
)

// writeRunValues replaces a run's query values of keys in [from, to) by
// vals, in the write's transaction.
func writeRunValues(ctx context.Context, tx *sql.Tx, runID string, vals []db.QueryValue, from, to string) error {
	if _, err := tx.ExecContext(ctx, trace("DELETE FROM run_values WHERE run_id = ? AND key >= ? AND key < ?"), runID, from, to); err != nil {
		return err
	}
	return insertRunValues(ctx, tx, runID, vals)
}

func insertRunValues(ctx context.Context, tx *sql.Tx, runID string, vals []db.QueryValue) error {
	seq := map[string]int{}
	for _, v := range vals {
		var num, txt any
		if v.Num != nil {
			num = *v.Num
		}
		if v.Txt != nil {
			txt = *v.Txt
		}
		if _, err := tx.ExecContext(ctx, trace("INSERT INTO run_values (run_id, key, seq, kind, num, txt) VALUES (?, ?, ?, ?, ?, ?)"),
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
func writeSeriesValues(ctx context.Context, tx *sql.Tx, runID string, s db.SeriesSummary) error {
	if _, err := tx.ExecContext(ctx, trace("DELETE FROM run_values WHERE run_id = ? AND key IN (?, ?, ?, ?)"), runID,
		db.SeriesKey("min", s.Name), db.SeriesKey("max", s.Name), db.SeriesKey("last", s.Name), db.SeriesKey("count", s.Name)); err != nil {
		return err
	}
	return insertRunValues(ctx, tx, runID, db.SeriesValues(s))
}
