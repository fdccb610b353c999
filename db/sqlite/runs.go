package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"labreview/db"
)

const runColumns = "id, project, external_id, name, status, host, job_id, created_by, created_by_token, params, metrics, " +
	"tags, notes, created_at, updated_at, started_at, finished_at, heartbeat_at, deleted_at, version, data_version, " +
	"review_state, review_id, review_by, review_at, review_comment, review_data_version, review_outdated, key_tags, param_text"

func scanRun(r rowScanner) (db.Run, error) {
	var run db.Run
	var params, metrics, tags, keyTags, paramText string
	var created, updated int64
	var started, finished, heartbeat, deleted, reviewAt sql.NullInt64
	var outdated int
	err := r.Scan(&run.ID, &run.Project, &run.ExternalID, &run.Name, &run.Status, &run.Host, &run.JobID, &run.CreatedBy,
		&run.CreatedByToken, &params, &metrics, &tags, &run.Notes, &created, &updated, &started, &finished, &heartbeat,
		&deleted, &run.Version, &run.DataVersion, &run.Review.State, &run.Review.ID, &run.Review.By, &reviewAt,
		&run.Review.Comment, &run.Review.DataVersion, &outdated, &keyTags, &paramText)
	if err != nil {
		return run, err
	}
	run.Review.At, run.Review.Outdated = fromOptMS(reviewAt), outdated == 1
	run.CreatedAt, run.UpdatedAt = fromMS(created), fromMS(updated)
	run.StartedAt, run.FinishedAt, run.HeartbeatAt, run.DeletedAt = fromOptMS(started), fromOptMS(finished), fromOptMS(heartbeat), fromOptMS(deleted)
	if run.Params, err = db.DecodeJSONObject([]byte(params)); err != nil {
		return run, fmt.Errorf("run %s: params: %w", run.ID, err)
	}
	if err := json.Unmarshal([]byte(metrics), &run.Metrics); err != nil {
		return run, fmt.Errorf("run %s: metrics: %w", run.ID, err)
	}
	if err := json.Unmarshal([]byte(tags), &run.Tags); err != nil {
		return run, fmt.Errorf("run %s: tags: %w", run.ID, err)
	}
	if run.KeyTags, err = stringMap(keyTags); err != nil {
		return run, fmt.Errorf("run %s: key tags: %w", run.ID, err)
	}
	if run.ParamText, err = stringMap(paramText); err != nil {
		return run, fmt.Errorf("run %s: param text: %w", run.ID, err)
	}
	return run, nil
}

func runArgs(r *db.Run) ([]any, error) {
	params, err := json.Marshal(orEmptyObject(r.Params))
	if err != nil {
		return nil, fmt.Errorf("run %s: params: %w", r.ID, err)
	}
	metrics := r.Metrics
	if metrics == nil {
		metrics = db.Metrics{}
	}
	m, err := json.Marshal(metrics)
	if err != nil {
		return nil, fmt.Errorf("run %s: metrics: %w", r.ID, err)
	}
	return []any{r.ID, r.Project, r.ExternalID, r.Name, r.Status, r.Host, r.JobID, r.CreatedBy, r.CreatedByToken,
		string(params), string(m), stringsJSON(r.Tags), r.Notes, ms(r.CreatedAt), ms(r.UpdatedAt), optMS(r.StartedAt),
		optMS(r.FinishedAt), optMS(r.HeartbeatAt), optMS(r.DeletedAt), r.Version, max(r.DataVersion, 1), db.NormalReviewState(r.Review.State),
		r.Review.ID, r.Review.By, optMS(r.Review.At), r.Review.Comment, r.Review.DataVersion, boolInt(r.Review.Outdated),
		stringMapJSON(r.KeyTags), stringMapJSON(r.ParamText), boolInt(r.DeletedAt != nil)}, nil
}

// stringMap reads a JSON object of strings; an empty one is nil.
func stringMap(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func stringMapJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}

func orEmptyObject(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

var insertRunSQL = "INSERT INTO runs (" + runColumns + ", deleted) VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", strings.Count(runColumns, ",")+2), ", ") + ")"

// CreateRun inserts the run unless its (project, external_id) is taken,
// then returns whichever run holds it, in one transaction.
func (s *Store) CreateRun(ctx context.Context, r *db.Run) (*db.Run, bool, error) {
	args, err := runArgs(r)
	if err != nil {
		return nil, false, fmt.Errorf("db: create run: %w", err)
	}
	var stored db.Run
	var created bool
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, trace(insertRunSQL+" ON CONFLICT (project, external_id) DO NOTHING"), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		created = n == 1
		stored, err = scanRun(s.txRow(ctx, tx, trace("SELECT "+runColumns+" FROM runs WHERE project = ? AND external_id = ?"),
			r.Project, r.ExternalID))
		if err != nil || !created {
			return err
		}
		if err := s.insertRunValues(ctx, tx, stored.ID, db.RunValues(&stored)); err != nil {
			return err
		}
		if err := s.moveRunNames(ctx, tx, nil, &stored); err != nil {
			return err
		}
		return s.moveProject(ctx, tx, stored.Project, db.ProjectDelta(nil, &stored), stored.UpdatedAt)
	})
	if err != nil {
		return nil, false, fmt.Errorf("db: create run: %w", classify(err))
	}
	return &stored, created, nil
}

// RunByID finds a run.
func (s *Store) RunByID(ctx context.Context, id string) (*db.Run, error) {
	runs, err := readAll(ctx, s, func(r *sql.Rows) (db.Run, error) { return scanRun(r) },
		"SELECT "+runColumns+" FROM runs WHERE id = ?", id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("db: find run: %w", err)
	case len(runs) == 0:
		return nil, fmt.Errorf("db: find run: %w", db.ErrNotFound)
	}
	return &runs[0], nil
}

// UpdateRun reads, changes and writes the run in one transaction of the
// single writer, so nothing comes between the read and the write.
func (s *Store) UpdateRun(ctx context.Context, id string, now time.Time, change func(*db.Run) error) (before, after *db.Run, err error) {
	return s.replaceRun(ctx, id, "update run", now, func(_ *sql.Tx, _, upd *db.Run) error { return change(upd) })
}

// replaceRun reads the run, applies change to a copy (old is the state
// read; tx lets it write beside the run) and writes the copy with Version
// one higher and UpdatedAt now, its query values when they changed, and
// the project's counters and keys, in one transaction. change's errors are returned
// as they are and nothing is stored.
func (s *Store) replaceRun(ctx context.Context, id, what string, now time.Time, change func(tx *sql.Tx, old, upd *db.Run) error) (before, after *db.Run, err error) {
	var changeErr error
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		old, err := scanRun(s.txRow(ctx, tx, trace("SELECT "+runColumns+" FROM runs WHERE id = ?"), id))
		if err != nil {
			return err
		}
		upd := db.CloneRun(&old)
		if changeErr = change(tx, &old, upd); changeErr != nil {
			return changeErr
		}
		upd.ID, upd.Version, upd.UpdatedAt = old.ID, old.Version+1, now
		args, err := runArgs(upd)
		if err != nil {
			return err
		}
		// Every column but id, then the id.
		args = append(args[1:], id)
		if _, err := s.txExec(ctx, tx, trace(updateRunSQL), args...); err != nil {
			return err
		}
		before, after = &old, upd
		if runValuesChanged(&old, upd) {
			if err := s.writeRunValues(ctx, tx, id, db.RunValues(upd), "", db.KeySeries); err != nil {
				return err
			}
		}
		if err := s.moveRunNames(ctx, tx, &old, upd); err != nil {
			return err
		}
		return s.moveProject(ctx, tx, upd.Project, db.ProjectDelta(&old, upd), now)
	})
	if changeErr != nil {
		return nil, nil, changeErr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("db: %s: %w", what, classify(err))
	}
	return before, after, nil
}

var updateRunSQL = func() string {
	cols := strings.Split(runColumns+", deleted", ", ")[1:]
	for i, c := range cols {
		cols[i] = c + " = ?"
	}
	return "UPDATE runs SET " + strings.Join(cols, ", ") + " WHERE id = ?"
}()

// runWhere is the filter's condition on runs (alias r), without paging.
func runWhere(f db.RunFilter) (string, []any, error) {
	where, args := []string{"r.deleted = ?"}, []any{boolInt(f.Deleted)}
	if f.Project != "" {
		where, args = append(where, "r.project = ?"), append(args, f.Project)
	}
	if len(f.Projects) > 0 {
		where = append(where, "r.project IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Projects)), ", ")+")")
		for _, p := range f.Projects {
			args = append(args, p)
		}
	}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	switch f.Review {
	case "":
	case db.ReviewOutdated:
		where = append(where, "r.review_outdated = 1")
	default:
		where, args = append(where, "r.review_state = ?"), append(args, f.Review)
	}
	if !f.StaleBefore.IsZero() {
		where, args = append(where, "coalesce(r.heartbeat_at, r.started_at, r.created_at) < ?"), append(args, ms(f.StaleBefore))
	}
	if f.Query != nil {
		cond, qargs, err := compileQuery(f.Query, f)
		if err != nil {
			return "", nil, err
		}
		where, args = append(where, cond), append(args, qargs...)
	}
	return strings.Join(where, " AND "), args, nil
}

// ListRuns walks the index that matches the filter, newest first, or the
// sort key's values in run_values (listSorted).
func (s *Store) ListRuns(ctx context.Context, f db.RunFilter, limit int) ([]db.Run, bool, error) {
	if f.SortKey != "" {
		return s.listSorted(ctx, f, limit)
	}
	where, args, err := runWhere(f)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	if f.Before != "" {
		where, args = where+" AND r.id < ?", append(args, f.Before)
	}
	args = append(args, limit+1)
	cacheable := f.Query == nil && len(f.Projects) == 0
	runs, err := readAllWith(ctx, s, cacheable, func(r *sql.Rows) (db.Run, error) { return scanRun(r) },
		"SELECT "+runColumns+" FROM runs r WHERE "+where+" ORDER BY id DESC LIMIT ?", args...)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	if len(runs) > limit {
		return runs[:limit], true, nil
	}
	return runs, false, nil
}

// sortValue is the run_values condition of a sortable value: a finite
// number, or a text for the name.
func sortValue(key string) (col, cond string) {
	if key == db.KeyName {
		return "v.txt", "v.kind = 2"
	}
	return "v.num", "v.kind = 1 AND v.num BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308"
}

var runColumnsR = "r." + strings.ReplaceAll(runColumns, ", ", ", r.")

// listSorted pages runs by a value: first the runs that have one, walking
// run_values' index on (key, value, run_id) in the sort's direction; then
// the runs without one, newest first.
func (s *Store) listSorted(ctx context.Context, f db.RunFilter, limit int) ([]db.Run, bool, error) {
	where, args, err := runWhere(f)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	col, valued := sortValue(f.SortKey)
	dir, cmp := "ASC", ">"
	if f.SortDesc {
		dir, cmp = "DESC", "<"
	}
	scan := func(r *sql.Rows) (db.Run, error) { return scanRun(r) }
	var out []db.Run
	if f.After == nil || f.After.HasValue {
		// With a project, status or verdict filter, the runs it selects
		// are few next to the whole table: read them by their index and
		// sort their values (CROSS JOIN fixes that order). Without one,
		// walk the sort value's index and stop after the page.
		from := "run_values v JOIN runs r ON r.id = v.run_id"
		if f.Project != "" || len(f.Projects) > 0 || f.Status != "" || f.Review != "" {
			from = "runs r CROSS JOIN run_values v ON v.run_id = r.id"
		}
		q := "SELECT " + runColumnsR + " FROM " + from + " WHERE v.key = ? AND " + valued + " AND " + where
		qargs := append([]any{f.SortKey}, args...)
		if f.After != nil {
			var at any = f.After.Num
			if f.SortKey == db.KeyName {
				at = f.After.Txt
			}
			q += " AND (" + col + " " + cmp + " ? OR (" + col + " = ? AND v.run_id " + cmp + " ?))"
			qargs = append(qargs, at, at, f.After.ID)
		}
		q += " ORDER BY " + col + " " + dir + ", v.run_id " + dir + " LIMIT ?"
		out, err = readAllWith(ctx, s, false, scan, q, append(qargs, limit+1)...)
		if err != nil {
			return nil, false, fmt.Errorf("db: list runs: %w", err)
		}
		if len(out) > limit {
			return out[:limit], true, nil
		}
	}
	q := "SELECT " + runColumnsR + " FROM runs r WHERE " + where +
		" AND NOT EXISTS (SELECT 1 FROM run_values v WHERE v.run_id = r.id AND v.key = ? AND " + valued + ")"
	qargs := append(append([]any{}, args...), f.SortKey)
	if f.After != nil && !f.After.HasValue {
		q += " AND r.id < ?"
		qargs = append(qargs, f.After.ID)
	}
	q += " ORDER BY r.id DESC LIMIT ?"
	rest, err := readAllWith(ctx, s, false, scan, q, append(qargs, limit+1-len(out))...)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	out = append(out, rest...)
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}
