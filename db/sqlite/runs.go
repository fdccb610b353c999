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
	"review_state, review_id, review_by, review_at, review_comment, review_data_version, review_outdated, " +
	"failure_reason, failure_detail, key_tags, param_text"

func scanRun(r rowScanner) (db.Run, error) {
	var run db.Run
	var params, metrics, tags, keyTags, paramText string
	var created, updated int64
	var started, finished, heartbeat, deleted, reviewAt sql.NullInt64
	var outdated int
	var failure db.Failure
	err := r.Scan(&run.ID, &run.Project, &run.ExternalID, &run.Name, &run.Status, &run.Host, &run.JobID, &run.CreatedBy,
		&run.CreatedByToken, &params, &metrics, &tags, &run.Notes, &created, &updated, &started, &finished, &heartbeat,
		&deleted, &run.Version, &run.DataVersion, &run.Review.State, &run.Review.ID, &run.Review.By, &reviewAt,
		&run.Review.Comment, &run.Review.DataVersion, &outdated, &failure.Reason, &failure.Detail, &keyTags, &paramText)
	if err != nil {
		return run, err
	}
	if failure.Reason != "" {
		run.Failure = &failure
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
	var failure db.Failure
	if r.Failure != nil {
		failure = *r.Failure
	}
	return []any{r.ID, r.Project, r.ExternalID, r.Name, r.Status, r.Host, r.JobID, r.CreatedBy, r.CreatedByToken,
		string(params), string(m), stringsJSON(r.Tags), r.Notes, ms(r.CreatedAt), ms(r.UpdatedAt), optMS(r.StartedAt),
		optMS(r.FinishedAt), optMS(r.HeartbeatAt), optMS(r.DeletedAt), r.Version, max(r.DataVersion, 1), db.NormalReviewState(r.Review.State),
		r.Review.ID, r.Review.By, optMS(r.Review.At), r.Review.Comment, r.Review.DataVersion, boolInt(r.Review.Outdated),
		failure.Reason, failure.Detail,
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

func orEmptyObject(m map[string]any) db.Params {
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
	return s.CreateRunAudited(ctx, r, nil)
}

// CreateRunAudited is CreateRun with the creation's audit event in the same
// transaction.
func (s *Store) CreateRunAudited(ctx context.Context, r *db.Run, audit func(*db.Run) *db.AuditEvent) (*db.Run, bool, error) {
	args, err := runArgs(r)
	if err != nil {
		return nil, false, fmt.Errorf("db: create run: %w", err)
	}
	var stored db.Run
	var created bool
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stored, created, err = s.createRunTx(ctx, tx, r, args)
		if err != nil || !created || audit == nil {
			return err
		}
		e := audit(&stored)
		if e.ID == "" {
			e.ID = db.NewID()
		}
		if e.At.IsZero() {
			e.At = time.Now()
		}
		eargs, err := auditArgs(e)
		if err != nil {
			return err
		}
		_, err = s.txExec(ctx, tx, trace(insertAuditSQL), eargs...)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("db: create run: %w", classify(err))
	}
	return &stored, created, nil
}

// createRunTx is CreateRun's transaction (args: runArgs(r)).
func (s *Store) createRunTx(ctx context.Context, tx *sql.Tx, r *db.Run, args []any) (stored db.Run, created bool, err error) {
	res, err := s.txExec(ctx, tx, trace(insertRunSQL+" ON CONFLICT (project, external_id) DO NOTHING"), args...)
	if err != nil {
		return stored, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return stored, false, err
	}
	if n != 1 {
		// Another run holds the external id: that one is the answer.
		stored, err = scanRun(s.txRow(ctx, tx, trace("SELECT "+runColumns+" FROM runs WHERE project = ? AND external_id = ?"),
			r.Project, r.ExternalID))
		return stored, false, err
	}
	// Inserted: the stored run is the one given, as it reads back.
	stored = asStored(r)
	run := stored
	if err := s.runChanged(ctx, tx, func(ix *runIndex) { ix.putRun(&run) }); err != nil {
		return stored, false, err
	}
	return stored, true, s.moveProject(ctx, tx, stored.Project, db.ProjectDelta(nil, &stored), stored.UpdatedAt)
}

// asStored is r as scanRun reads it back after runArgs wrote it: times
// in UTC milliseconds, no nil lists or maps, the normal review state.
func asStored(r *db.Run) db.Run {
	c := *db.CloneRun(r)
	msTime := func(t time.Time) time.Time { return fromMS(ms(t)) }
	optTime := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := msTime(*t)
		return &v
	}
	c.CreatedAt, c.UpdatedAt = msTime(c.CreatedAt), msTime(c.UpdatedAt)
	c.StartedAt, c.FinishedAt, c.HeartbeatAt, c.DeletedAt = optTime(c.StartedAt), optTime(c.FinishedAt), optTime(c.HeartbeatAt), optTime(c.DeletedAt)
	c.Review.At = optTime(c.Review.At)
	c.Review.State = db.NormalReviewState(c.Review.State)
	c.DataVersion = max(c.DataVersion, 1)
	if c.Failure != nil && c.Failure.Reason == "" {
		c.Failure = nil
	}
	return c
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
// the project's counters, in one transaction; the query index takes the
// new state once it has committed. change's errors are returned
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
		run := db.CloneRun(upd)
		if err := s.runChanged(ctx, tx, func(ix *runIndex) { ix.putRun(run) }); err != nil {
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
