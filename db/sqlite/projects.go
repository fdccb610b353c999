package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"labreview/db"
)

const projectColumns = "name, counts, last_activity, baseline_run"

func scanProject(r rowScanner) (db.Project, error) {
	var p db.Project
	var counts string
	var last int64
	if err := r.Scan(&p.Name, &counts, &last, &p.BaselineRun); err != nil {
		return p, err
	}
	p.LastActivity = fromMS(last)
	p.Counts = map[string]int64{}
	if err := json.Unmarshal([]byte(counts), &p.Counts); err != nil {
		return p, fmt.Errorf("project %s: counts: %w", p.Name, err)
	}
	return p, nil
}

// moveProject applies a run write's counter delta to its project, in the
// write's transaction.
func (s *Store) moveProject(ctx context.Context, tx *sql.Tx, project string, delta map[string]int64, at time.Time) error {
	p, err := scanProject(s.txRow(ctx, tx, trace("SELECT "+projectColumns+" FROM projects WHERE name = ?"), project))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		p = db.Project{Name: project, Counts: map[string]int64{}}
	case err != nil:
		return err
	}
	for k, v := range delta {
		p.Counts[k] += v
		if p.Counts[k] == 0 {
			delete(p.Counts, k)
		}
	}
	if at.After(p.LastActivity) {
		p.LastActivity = at
	}
	counts, _ := json.Marshal(p.Counts) // a map of numbers always marshals
	_, err = s.txExec(ctx, tx, trace("INSERT INTO projects ("+projectColumns+") VALUES (?, ?, ?, ?) "+
		"ON CONFLICT (name) DO UPDATE SET counts = excluded.counts, last_activity = excluded.last_activity"),
		project, string(counts), ms(p.LastActivity), p.BaselineRun)
	return err
}

// ListProjects returns every project by name.
func (s *Store) ListProjects(ctx context.Context) ([]db.Project, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.Project, error) { return scanProject(r) },
		"SELECT "+projectColumns+" FROM projects ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("db: list projects: %w", err)
	}
	return out, nil
}

// ProjectByName finds a project.
func (s *Store) ProjectByName(ctx context.Context, name string) (*db.Project, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.Project, error) { return scanProject(r) },
		"SELECT "+projectColumns+" FROM projects WHERE name = ?", name)
	switch {
	case err != nil:
		return nil, fmt.Errorf("db: find project: %w", err)
	case len(out) == 0:
		return nil, fmt.Errorf("db: find project: %w", db.ErrNotFound)
	}
	return &out[0], nil
}

// SetBaseline sets a project's baseline run.
func (s *Store) SetBaseline(ctx context.Context, project, runID string) error {
	res, err := s.exec(ctx, "UPDATE projects SET baseline_run = ? WHERE name = ?", runID, project)
	if err != nil {
		return fmt.Errorf("db: set baseline: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("db: set baseline: %w", db.ErrNotFound)
	}
	return nil
}

// CreateProject stores a project without runs unless it exists.
func (s *Store) CreateProject(ctx context.Context, name string, now time.Time) (bool, error) {
	res, err := s.exec(ctx, "INSERT INTO projects ("+projectColumns+") VALUES (?, '{}', ?, '') ON CONFLICT (name) DO NOTHING",
		name, ms(now))
	if err != nil {
		return false, fmt.Errorf("db: create project: %w", classify(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
