package runs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"labreview/db"
)

// ImportCheck checks the records of an import file (labreview import) with
// the rules the API applies to the same data, so that an import brings in
// nothing the API would refuse: runs (names, project names and their
// look-alike rules, params, metrics, tags, notes), series (names, steps,
// and at most Config.MaxSeriesPerRun a run), comments, verdicts, projects
// and saved views. Records of other kinds pass (auth checks accounts). It
// counts series as the records go by: use one per import.
type ImportCheck struct {
	maxSeries int
	series    map[string]map[string]bool // run → its series names
}

// NewImportCheck returns the check of one import under cfg's limits.
func NewImportCheck(cfg Config) *ImportCheck {
	if cfg.MaxSeriesPerRun <= 0 {
		cfg.MaxSeriesPerRun = DefaultMaxSeriesPerRun
	}
	return &ImportCheck{maxSeries: cfg.MaxSeriesPerRun, series: map[string]map[string]bool{}}
}

// Check returns why rec breaks the API's rules, or nil.
func (c *ImportCheck) Check(rec db.Record) error {
	var err error
	switch rec.Kind {
	case db.KindRun:
		err = checkImportedRun(rec.Run)
	case db.KindSeries:
		err = c.checkSeries(rec.Series)
	case db.KindComment:
		err = checkImportedComment(rec.Comment)
	case db.KindReview:
		v := Verdict{State: rec.Review.State, Comment: rec.Review.Comment}
		if err = v.validate(); err == nil && v.Comment != rec.Review.Comment {
			err = errors.New("the comment has spaces at either end")
		}
	case db.KindProject:
		if _, err = label("project", rec.Project.Name, true); err == nil {
			err = checkProjectName(rec.Project.Name)
		}
	case db.KindSavedView:
		if err = checkViewName(rec.View.Name); err == nil && viewName(rec.View.Name) != rec.View.Name {
			err = errors.New("the view name has spaces at either end")
		}
		if err == nil {
			err = checkViewSearch(rec.View.Search)
		}
	}
	var in *InputError
	if errors.As(err, &in) {
		return fmt.Errorf("%s: %s", in.Field, in.Message)
	}
	return err
}

func checkImportedRun(r *db.Run) error {
	params, err := json.Marshal(r.Params) // normal-form values always marshal
	if err != nil {
		return err
	}
	in := NewRun{Project: r.Project, ExternalID: r.ExternalID, Name: r.Name, Status: r.Status, Host: r.Host,
		JobID: r.JobID, Params: params, Metrics: r.Metrics, Tags: r.Tags, Notes: r.Notes, Failure: r.Failure}
	checked, err := in.validate()
	if err != nil {
		return err
	}
	if !slices.Equal(checked.Tags, r.Tags) {
		return errors.New("tags: a tag appears twice")
	}
	return nil
}

func (c *ImportCheck) checkSeries(part *db.SeriesPart) error {
	if part.Name != db.ClockSeries {
		if err := checkName("series", part.Name); err != nil {
			return err
		}
		names := c.series[part.RunID]
		if names == nil {
			names = map[string]bool{}
			c.series[part.RunID] = names
		}
		names[part.Name] = true
		if len(names) > c.maxSeries {
			return fmt.Errorf("series: run %s has more than %d series (runs.max_series_per_run)", part.RunID, c.maxSeries)
		}
	}
	if len(part.Points) > MaxPointsPerBatch {
		return fmt.Errorf("series: more than %d points in one record", MaxPointsPerBatch)
	}
	for _, p := range part.Points {
		if p.Step < 0 || p.Step > MaxStep {
			return fmt.Errorf("series: step %d is outside 0 to 2^53 − 1", p.Step)
		}
	}
	return nil
}

func checkImportedComment(cm *db.Comment) error {
	if cm.DeletedAt == nil || cm.Body != "" {
		body, err := checkBody(cm.Body)
		if err != nil {
			return err
		}
		if body != cm.Body {
			return errors.New("body: the text has spaces at either end")
		}
	}
	if err := checkAnchor(cm.Anchor); err != nil {
		return err
	}
	for _, h := range cm.History {
		if _, err := checkBody(h.Body); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	}
	return nil
}
