package runs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"labreview/auth/policy"
	"labreview/db"
)

// Cleanup: closing runs whose job died, and removing series points (a
// mistyped step, a job restarted from a checkpoint). docs/ingest.md,
// "Cleanup".

// Audit events of cleanup.
const (
	EventRunClosed       = "run_closed"
	EventSeriesTruncated = "series_truncated"
	EventSeriesDeleted   = "series_deleted"
)

// Errors of cleanup.
var (
	// ErrRunEnded: closing a run that has ended already.
	ErrRunEnded = errors.New("runs: the run has ended already")
	// ErrNoSuchSeries: the run has no series of that name.
	ErrNoSuchSeries = errors.New("runs: no such series")
	// ErrDeleteSeries: removing a whole series needs runs:delete.
	ErrDeleteSeries = errors.New("runs: removing a whole series needs runs:delete")
)

// AliveError refuses to close a run whose job still sends signs of life.
type AliveError struct {
	AliveAt    time.Time
	StaleAfter time.Duration
}

func (e *AliveError) Error() string {
	return fmt.Sprintf("runs: the run is alive (last sign of life %s)", e.AliveAt.UTC().Format(time.RFC3339))
}

// Close ends a run whose job can no longer say how it ended: a queued
// run, or a stale one (running, but silent for runs.stale_after). It
// becomes cancelled or failed, finished at its last sign of life (so its
// duration stops counting there), with reason as its failure reason. A
// running run that is not stale is refused (AliveError): its job may
// still end it. The server checks runs:review.
func (s *Service) Close(ctx context.Context, a Actor, id, status, reason string) (*db.Run, error) {
	if status != db.StatusCancelled && status != db.StatusFailed {
		return nil, invalid("status", "A run is closed as cancelled or failed.")
	}
	f := &db.Failure{Reason: reason}
	if err := checkFailure(f); err != nil {
		var in *InputError
		if errors.As(err, &in) && in.Field == "failure.reason" {
			in.Field = "reason"
		}
		return nil, err
	}
	now := s.now()
	before, after, err := s.db.UpdateRun(ctx, id, now, func(r *db.Run) error {
		switch {
		case !a.reaches(r.Project):
			return ErrNotFound
		case r.DeletedAt != nil:
			return ErrDeleted
		case r.Status != db.StatusQueued && r.Status != db.StatusRunning:
			return ErrRunEnded
		case s.ShownStatus(r) == db.StatusRunning:
			return &AliveError{AliveAt: aliveAt(r), StaleAfter: s.cfg.StaleAfter}
		}
		end := aliveAt(r)
		r.Status, r.FinishedAt = status, &end
		r.Failure = &db.Failure{Reason: reason, Detail: fmt.Sprintf("Closed by a reviewer on %s: the job sent no sign of life after %s.",
			now.UTC().Format("2006-01-02 15:04 MST"), end.UTC().Format("2006-01-02 15:04:05 MST"))}
		return nil
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	}
	changes := diff(before, after)
	if changes == nil {
		changes = map[string]any{}
	}
	s.audit(ctx, a, EventRunClosed, after, changes)
	return after, nil
}

// TruncateSeries removes the points of a run's series from step fromStep
// on (fromStep 0: all of them, and the series leaves the run), for a job
// restarted from a checkpoint or a mistyped step. The run's clock loses
// the steps after the last step any series still holds. It returns how
// many points went. A removal is audited; a verdict on the run turns
// outdated. Removing a whole series without a step (from is nil) needs
// runs:delete, truncating runs:write (the route's).
func (s *Service) TruncateSeries(ctx context.Context, a Actor, runID, name string, from *int64) (int64, error) {
	if p := NameProblem(name); p != "" {
		return 0, ErrNoSuchSeries
	}
	fromStep := int64(0)
	if from != nil {
		if *from < 0 || *from > MaxStep {
			return 0, invalid("from_step", "from_step is a step: a whole number from 0 to 2^53 − 1.")
		}
		fromStep = *from
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return 0, err
	}
	if r.DeletedAt != nil {
		return 0, ErrDeleted
	}
	sums, err := s.seriesSummaries(ctx, r.ID)
	if err != nil {
		return 0, err
	}
	found := false
	for _, x := range sums {
		found = found || x.Name == name
	}
	if !found {
		return 0, ErrNoSuchSeries
	}
	if from == nil && !a.can(policy.RunsDelete, r.Project) {
		return 0, ErrDeleteSeries
	}
	removed, err := s.db.DeleteSeries(ctx, r.ID, name, fromStep, s.now())
	if err != nil || removed == 0 {
		return removed, err
	}
	if err := s.trimClock(ctx, r.ID); err != nil {
		return removed, err
	}
	event, details := EventSeriesTruncated, map[string]any{"series": name, "from_step": float64(fromStep), "removed": float64(removed)}
	if from == nil {
		event = EventSeriesDeleted
		delete(details, "from_step")
	}
	s.audit(ctx, a, event, r, details)
	return removed, nil
}

// trimClock removes the clock's steps after the last step of every series
// of the run (a step logged again after a truncation gets its new time).
func (s *Service) trimClock(ctx context.Context, runID string) error {
	all, err := s.db.SeriesSummaries(ctx, runID)
	if err != nil {
		return err
	}
	user, clock := userSeries(all)
	if clock.Count == 0 {
		return nil
	}
	last := int64(-1)
	for _, x := range user {
		last = max(last, x.LastStep)
	}
	if clock.LastStep <= last {
		return nil
	}
	_, err = s.db.DeleteSeries(ctx, runID, db.ClockSeries, last+1, s.now())
	return err
}
