package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"labreview/db"
)

// real binds a float, NaN as NULL (SQLite has no NaN).
func real(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

func fromReal(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

const chunkSummaryColumns = "summary"

func scanChunkSummary(r rowScanner, extra ...any) (db.ChunkSummary, error) {
	var raw []byte
	if err := r.Scan(append([]any{&raw}, extra...)...); err != nil {
		return db.ChunkSummary{}, err
	}
	return db.DecodeSummary(raw)
}

// WriteSeries merges each series' points into its chunks in one
// transaction of the single writer.
func (s *Store) WriteSeries(ctx context.Context, runID string, batch map[string][]db.Point, now time.Time) (int, error) {
	names := make([]string, 0, len(batch))
	for name, pts := range batch {
		if len(pts) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	added := 0
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		added = 0
		changed := 0
		var sums []db.SeriesSummary
		for _, name := range names {
			n, c, sum, err := s.writeOneSeries(ctx, tx, runID, name, batch[name])
			if err != nil {
				return err
			}
			if name != db.ClockSeries {
				sums = append(sums, sum)
			}
			if name != db.ClockSeries { // the clock alone is no change of the judged data
				added, changed = added+n, changed+c
			}
		}
		if added+changed == 0 {
			return nil
		}
		return s.judgedDataChanged(ctx, tx, runID, now, func(ix *runIndex, upd *db.Run) { ix.putSeries(upd, sums) })
	})
	if err != nil {
		return 0, fmt.Errorf("db: write series: %w", classify(err))
	}
	return added, nil
}

// judgedDataChanged records a change of a run's series in the write's
// transaction: a newer data version, an outdated verdict, the project's
// counters.
func (s *Store) judgedDataChanged(ctx context.Context, tx *sql.Tx, runID string, now time.Time, index func(ix *runIndex, upd *db.Run)) error {
	old, err := scanRun(s.txRow(ctx, tx, trace("SELECT "+runColumns+" FROM runs WHERE id = ?"), runID))
	if err != nil {
		return err
	}
	upd := old
	upd.Review.Outdated = old.Review.State != db.ReviewUnreviewed
	if _, err := s.txExec(ctx, tx, trace("UPDATE runs SET data_version = data_version + 1, version = version + 1, updated_at = ?, "+
		"review_outdated = ? WHERE id = ?"), ms(now), boolInt(upd.Review.Outdated), runID); err != nil {
		return err
	}
	if err := s.runChanged(ctx, tx, func(ix *runIndex) { index(ix, &upd) }); err != nil {
		return err
	}
	return s.moveProject(ctx, tx, old.Project, db.ProjectDelta(&old, &upd), now)
}

func (s *Store) writeOneSeries(ctx context.Context, tx *sql.Tx, runID, name string, points []db.Point) (added, changed int, sum db.SeriesSummary, err error) {
	lo, hi := points[0].Step, points[len(points)-1].Step
	// The chunk holding lo (the last starting at or before it), unless it
	// is full and ends before lo (an append leaves it as it is), then the
	// chunks starting in (lo, hi].
	var existing []db.Chunk
	var blob []byte
	c, err0 := scanChunkSummary(s.txRow(ctx, tx, trace("SELECT "+chunkSummaryColumns+", points FROM series_chunks "+
		"WHERE run_id = ? AND series = ? AND first_step <= ? ORDER BY first_step DESC LIMIT 1"), runID, name, lo), &blob)
	switch err = err0; {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, 0, sum, err
	case c.LastStep >= lo || c.Count < db.ChunkPoints:
		pts, err := db.DecodePoints(blob)
		if err != nil {
			return 0, 0, sum, err
		}
		existing = append(existing, db.Chunk{ChunkSummary: c, Points: pts})
	}
	rows, err := s.txQuery(ctx, tx, trace("SELECT "+chunkSummaryColumns+", points FROM series_chunks "+
		"WHERE run_id = ? AND series = ? AND first_step > ? AND first_step <= ? ORDER BY first_step"), runID, name, lo, hi)
	if err != nil {
		return 0, 0, sum, err
	}
	for rows.Next() {
		var blob []byte
		c, err := scanChunkSummary(rows, &blob)
		if err != nil {
			rows.Close()
			return 0, 0, sum, err
		}
		pts, err := db.DecodePoints(blob)
		if err != nil {
			rows.Close()
			return 0, 0, sum, err
		}
		existing = append(existing, db.Chunk{ChunkSummary: c, Points: pts})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, sum, err
	}
	chunks, added, changed := db.MergeSeries(name, existing, points)
	for _, c := range existing {
		if _, err := s.txExec(ctx, tx, trace("DELETE FROM series_chunks WHERE run_id = ? AND series = ? AND first_step = ?"),
			runID, name, c.FirstStep); err != nil {
			return 0, 0, sum, err
		}
	}
	for _, c := range chunks {
		if _, err := s.txExec(ctx, tx, trace("INSERT INTO series_chunks (run_id, series, first_step, summary, points) VALUES (?, ?, ?, ?, ?)"),
			runID, name, c.FirstStep, db.EncodeSummary(c.ChunkSummary), db.EncodePoints(c.Points)); err != nil {
			return 0, 0, sum, err
		}
	}

	old, err := scanSeriesSummary(s.txRow(ctx, tx, trace("SELECT "+seriesColumns+" FROM series WHERE run_id = ? AND name = ?"), runID, name))
	var oldp *db.SeriesSummary
	switch {
	case err == nil:
		oldp = &old
	case !errors.Is(err, sql.ErrNoRows):
		return 0, 0, sum, err
	}
	next, full := db.NextSummary(oldp, name, points, added)
	if full {
		all, err := s.chunkSummariesTx(ctx, tx, runID, name)
		if err != nil {
			return 0, 0, sum, err
		}
		next = db.SummarizeSeries(name, all)
	}
	_, err = s.txExec(ctx, tx, trace("INSERT INTO series (run_id, "+seriesColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (run_id, name) DO UPDATE SET count = excluded.count, first_step = excluded.first_step, "+
		"last_step = excluded.last_step, min_value = excluded.min_value, max_value = excluded.max_value, last_value = excluded.last_value"),
		runID, name, next.Count, next.FirstStep, next.LastStep, real(next.Min), real(next.Max), real(next.Last))
	if err != nil {
		return 0, 0, sum, err
	}
	return added, changed, next, nil
}

func (s *Store) chunkSummariesTx(ctx context.Context, tx *sql.Tx, runID, name string) ([]db.ChunkSummary, error) {
	rows, err := s.txQuery(ctx, tx, trace("SELECT "+chunkSummaryColumns+" FROM series_chunks WHERE run_id = ? AND series = ? ORDER BY first_step"), runID, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []db.ChunkSummary
	for rows.Next() {
		c, err := scanChunkSummary(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const seriesColumns = "name, count, first_step, last_step, min_value, max_value, last_value"

func scanSeriesSummary(r rowScanner) (db.SeriesSummary, error) {
	var s db.SeriesSummary
	var lo, hi, last sql.NullFloat64
	if err := r.Scan(&s.Name, &s.Count, &s.FirstStep, &s.LastStep, &lo, &hi, &last); err != nil {
		return s, err
	}
	s.Min, s.Max, s.Last = fromReal(lo), fromReal(hi), fromReal(last)
	return s, nil
}

// SeriesSummaries returns a run's series by name.
func (s *Store) SeriesSummaries(ctx context.Context, runID string) ([]db.SeriesSummary, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.SeriesSummary, error) { return scanSeriesSummary(r) },
		"SELECT "+seriesColumns+" FROM series WHERE run_id = ? ORDER BY name", runID)
	if err != nil {
		return nil, fmt.Errorf("db: series summaries: %w", err)
	}
	return out, nil
}

// summariesOfSQL reads the named series of several runs (two JSON arrays):
// one lookup in series' primary key (run_id, name) per pair.
const summariesOfSQL = "SELECT run_id, " + seriesColumns + " FROM series " +
	"WHERE run_id IN (SELECT value FROM json_each(?)) AND name IN (SELECT value FROM json_each(?))"

// SummariesOf returns the named series of several runs, by run id.
func (s *Store) SummariesOf(ctx context.Context, runIDs, names []string) (map[string][]db.SeriesSummary, error) {
	out := map[string][]db.SeriesSummary{}
	if len(runIDs) == 0 || len(names) == 0 {
		return out, nil
	}
	ids, _ := json.Marshal(runIDs) // strings always marshal
	want, _ := json.Marshal(names)
	type row struct {
		run string
		sum db.SeriesSummary
	}
	rows, err := readAll(ctx, s, func(r *sql.Rows) (row, error) {
		var x row
		var lo, hi, last sql.NullFloat64
		err := r.Scan(&x.run, &x.sum.Name, &x.sum.Count, &x.sum.FirstStep, &x.sum.LastStep, &lo, &hi, &last)
		x.sum.Min, x.sum.Max, x.sum.Last = fromReal(lo), fromReal(hi), fromReal(last)
		return x, err
	}, trace(summariesOfSQL), string(ids), string(want))
	if err != nil {
		return nil, fmt.Errorf("db: series summaries of runs: %w", err)
	}
	for _, x := range rows {
		out[x.run] = append(out[x.run], x.sum)
	}
	for _, sums := range out {
		sort.Slice(sums, func(i, j int) bool { return sums[i].Name < sums[j].Name })
	}
	return out, nil
}

// ChunkSummaries reads the chunk summaries from the covering index: the
// chunk holding from, then those starting in (from, to].
func (s *Store) ChunkSummaries(ctx context.Context, runID, name string, from, to int64) ([]db.ChunkSummary, error) {
	scan := func(r *sql.Rows) (db.ChunkSummary, error) { return scanChunkSummary(r) }
	head, err := readAll(ctx, s, scan, "SELECT "+chunkSummaryColumns+" FROM series_chunks "+
		"WHERE run_id = ? AND series = ? AND first_step <= ? ORDER BY first_step DESC LIMIT 1", runID, name, from)
	if err != nil {
		return nil, fmt.Errorf("db: chunk summaries: %w", err)
	}
	rest, err := readAll(ctx, s, scan, "SELECT "+chunkSummaryColumns+" FROM series_chunks "+
		"WHERE run_id = ? AND series = ? AND first_step > ? AND first_step <= ? ORDER BY first_step", runID, name, from, to)
	if err != nil {
		return nil, fmt.Errorf("db: chunk summaries: %w", err)
	}
	if len(head) == 1 && head[0].LastStep < from {
		head = nil
	}
	return append(head, rest...), nil
}

// chunkBatch is the number of chunks one read asks for: the list of steps
// is padded to it, so the statement is always the same (one prepared
// statement, one plan).
const chunkBatch = 64

var chunksSQL = "SELECT " + chunkSummaryColumns + ", points FROM series_chunks WHERE run_id = ? AND series = ? AND first_step IN (" +
	strings.TrimSuffix(strings.Repeat("?, ", chunkBatch), ", ") + ") ORDER BY first_step"

// Chunks reads the chunks that start at the given steps.
func (s *Store) Chunks(ctx context.Context, runID, name string, firstSteps []int64) ([]db.Chunk, error) {
	out := make([]db.Chunk, 0, len(firstSteps))
	for start := 0; start < len(firstSteps); start += chunkBatch {
		part := firstSteps[start:min(start+chunkBatch, len(firstSteps))]
		args := []any{runID, name}
		for i := range chunkBatch {
			args = append(args, part[min(i, len(part)-1)])
		}
		chunks, err := readAll(ctx, s, func(r *sql.Rows) (db.Chunk, error) {
			var blob sql.RawBytes // decoded at once: no copy of the blob
			c, err := scanChunkSummary(r, &blob)
			if err != nil {
				return db.Chunk{}, err
			}
			pts, err := db.DecodePoints(blob)
			return db.Chunk{ChunkSummary: c, Points: pts}, err
		}, chunksSQL, args...)
		if err != nil {
			return nil, fmt.Errorf("db: read chunks: %w", err)
		}
		out = append(out, chunks...)
	}
	return out, nil
}

// DeleteSeries removes the points from fromStep on in one transaction of
// the writer: the chunk that holds fromStep keeps its earlier points, the
// chunks after it go, and the series summary, its query values, the
// project's names and the run follow.
func (s *Store) DeleteSeries(ctx context.Context, runID, name string, fromStep int64, now time.Time) (int64, error) {
	var removed int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		removed = 0
		var blob []byte
		head, err := scanChunkSummary(s.txRow(ctx, tx, trace("SELECT "+chunkSummaryColumns+", points FROM series_chunks "+
			"WHERE run_id = ? AND series = ? AND first_step < ? ORDER BY first_step DESC LIMIT 1"), runID, name, fromStep), &blob)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case head.LastStep >= fromStep:
			pts, err := db.DecodePoints(blob)
			if err != nil {
				return err
			}
			kept := pts[:0]
			for _, p := range pts {
				if p.Step < fromStep {
					kept = append(kept, p)
				}
			}
			removed += int64(len(pts) - len(kept))
			if _, err := s.txExec(ctx, tx, trace("UPDATE series_chunks SET summary = ?, points = ? WHERE run_id = ? AND series = ? AND first_step = ?"),
				db.EncodeSummary(db.Summarize(kept)), db.EncodePoints(kept), runID, name, head.FirstStep); err != nil {
				return err
			}
		}
		rows, err := s.txQuery(ctx, tx, trace("SELECT "+chunkSummaryColumns+" FROM series_chunks WHERE run_id = ? AND series = ? AND first_step >= ?"),
			runID, name, fromStep)
		if err != nil {
			return err
		}
		for rows.Next() {
			c, err := scanChunkSummary(rows)
			if err != nil {
				rows.Close()
				return err
			}
			removed += int64(c.Count)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if removed == 0 {
			return nil
		}
		if _, err := s.txExec(ctx, tx, trace("DELETE FROM series_chunks WHERE run_id = ? AND series = ? AND first_step >= ?"),
			runID, name, fromStep); err != nil {
			return err
		}
		left, err := s.chunkSummariesTx(ctx, tx, runID, name)
		if err != nil {
			return err
		}
		gone, kept := false, db.SeriesSummary{}
		if len(left) == 0 {
			if _, err := s.txExec(ctx, tx, trace("DELETE FROM series WHERE run_id = ? AND name = ?"), runID, name); err != nil {
				return err
			}
			gone = true
		} else {
			next := db.SummarizeSeries(name, left)
			if _, err := s.txExec(ctx, tx, trace("UPDATE series SET count = ?, first_step = ?, last_step = ?, min_value = ?, max_value = ?, "+
				"last_value = ? WHERE run_id = ? AND name = ?"), next.Count, next.FirstStep, next.LastStep, real(next.Min), real(next.Max),
				real(next.Last), runID, name); err != nil {
				return err
			}
			kept = next
		}
		if name == db.ClockSeries {
			return nil
		}
		return s.judgedDataChanged(ctx, tx, runID, now, func(ix *runIndex, upd *db.Run) {
			if gone {
				ix.dropSeries(upd, name)
			} else {
				ix.putSeries(upd, []db.SeriesSummary{kept})
			}
		})
	})
	if err != nil {
		return 0, fmt.Errorf("db: delete series: %w", classify(err))
	}
	return removed, nil
}
