package runs

import (
	"context"
	"errors"

	"labreview/db"
)

// Errors of baselines.
var (
	// ErrBaseline: the run cannot be its project's baseline (not
	// approved, deleted, or of another project).
	ErrBaseline = errors.New("runs: a baseline is an approved, live run of the project")
)

// Projects lists the projects the caller reaches, by name.
func (s *Service) Projects(ctx context.Context, a Actor) ([]db.Project, error) {
	all, err := s.db.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	out := []db.Project{}
	for _, p := range all {
		if a.reaches(p.Name) {
			out = append(out, p)
		}
	}
	return out, nil
}

// SetBaseline makes an approved live run its project's baseline (runID ""
// clears it).
func (s *Service) SetBaseline(ctx context.Context, a Actor, project, runID string) error {
	if !a.reaches(project) {
		return ErrNotFound
	}
	if runID != "" {
		r, err := s.Get(ctx, a, runID)
		if err != nil {
			return err
		}
		if r.Project != project || r.DeletedAt != nil || r.Review.State != db.ReviewApproved {
			return ErrBaseline
		}
	}
	if err := s.db.SetBaseline(ctx, project, runID); errors.Is(err, db.ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	s.auditProject(ctx, a, project, runID)
	return nil
}

func (s *Service) auditProject(ctx context.Context, a Actor, project, runID string) {
	details := map[string]any{"project": project, "after": map[string]any{"baseline_run": runID}}
	if a.TokenID != "" {
		details["token_id"] = a.TokenID
	}
	if err := s.db.InsertAudit(context.WithoutCancel(ctx), &db.AuditEvent{At: s.now(), Event: EventBaselineSet, ActorID: a.UserID,
		SessionID: a.SessionID, IP: a.IP, UserAgent: truncate(a.UserAgent, 512), Details: details}); err != nil {
		s.log.Error("writing audit event", "event", EventBaselineSet, "err", err)
	}
}

// EventBaselineSet is the audit event of a baseline change.
const EventBaselineSet = "baseline_set"

// Baseline compares a run with its project's baseline: params that
// differ, and metrics with their delta and ratio.
type Baseline struct {
	Run      *db.Run // the baseline run
	Approved bool    // still approved (a later verdict may have changed it)
	Params   []ValueChange
	Metrics  []MetricDelta
}

// MetricDelta is a metric of the run beside the baseline's: Delta is run −
// baseline, Ratio run / baseline (nil where undefined).
type MetricDelta struct {
	Name          string
	Run, Baseline *float64
	Delta, Ratio  *float64
}

// BaselineFor returns the comparison of r with its project's baseline, or
// nil when the project has none or r is the baseline.
func (s *Service) BaselineFor(ctx context.Context, a Actor, r *db.Run) (*Baseline, error) {
	p, err := s.db.ProjectByName(ctx, r.Project)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.BaselineRun == "" || p.BaselineRun == r.ID {
		return nil, nil
	}
	base, err := s.Get(ctx, a, p.BaselineRun)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &Baseline{Run: base, Approved: base.Review.State == db.ReviewApproved && base.DeletedAt == nil,
		Params: DiffParams(base.Params, r.Params), Metrics: []MetricDelta{}}
	for _, k := range sortedKeys(base.Metrics, r.Metrics) {
		d := MetricDelta{Name: k}
		rv, rok := r.Metrics[k]
		bv, bok := base.Metrics[k]
		if rok {
			d.Run = &rv
		}
		if bok {
			d.Baseline = &bv
		}
		if rok && bok {
			delta := rv - bv
			d.Delta = &delta
			if bv != 0 {
				ratio := rv / bv
				d.Ratio = &ratio
			}
		}
		out.Metrics = append(out.Metrics, d)
	}
	return out, nil
}

// total counts the runs a list query selects, from the project counters
// (no scan): exact for every filter but stale, which counts the running
// runs and says it is an estimate.
func (s *Service) total(ctx context.Context, a Actor, q ListQuery) (n int64, exact bool, err error) {
	key := db.CountLive
	exact = true
	switch {
	case q.Deleted:
		key = db.CountDeleted
	case q.Status == StatusStale:
		key, exact = db.CountStatus(db.StatusRunning), false
	case q.Status != "":
		key = db.CountStatus(q.Status)
	case q.Review == db.ReviewOutdated:
		key = db.CountOutdated
	case q.Review != "":
		key = db.CountReview(q.Review)
	}
	var projects []db.Project
	if q.Project != "" {
		// One project: its row alone (the caller's reach was checked).
		p, err := s.db.ProjectByName(ctx, q.Project)
		switch {
		case errors.Is(err, db.ErrNotFound):
		case err != nil:
			return 0, false, err
		default:
			projects = []db.Project{*p}
		}
	} else if projects, err = s.Projects(ctx, a); err != nil {
		return 0, false, err
	}
	for _, p := range projects {
		n += p.Counts[key]
	}
	return max(n, 0), exact, nil
}
