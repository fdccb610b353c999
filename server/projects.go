package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/db"
	"labreview/runs"
)

// projectResponse is a project with its run counts.
type projectResponse struct {
	Name         string           `json:"name"`
	Runs         int64            `json:"runs"`
	Deleted      int64            `json:"deleted"`
	ByStatus     map[string]int64 `json:"by_status"`
	ByReview     map[string]int64 `json:"by_review"`
	Outdated     int64            `json:"outdated"`
	LastActivity *time.Time       `json:"last_activity"`
	BaselineRun  *string          `json:"baseline_run"`
}

func toProjectResponse(p *db.Project) projectResponse {
	out := projectResponse{Name: p.Name, Runs: p.Counts[db.CountLive], Deleted: p.Counts[db.CountDeleted],
		Outdated: p.Counts[db.CountOutdated], ByStatus: map[string]int64{}, ByReview: map[string]int64{}}
	for _, st := range []string{db.StatusQueued, db.StatusRunning, db.StatusSucceeded, db.StatusFailed, db.StatusCancelled} {
		out.ByStatus[st] = p.Counts[db.CountStatus(st)]
	}
	for _, st := range []string{db.ReviewUnreviewed, db.ReviewApproved, db.ReviewRejected, db.ReviewNeedsRerun} {
		out.ByReview[st] = p.Counts[db.CountReview(st)]
	}
	if !p.LastActivity.IsZero() {
		t := p.LastActivity.UTC()
		out.LastActivity = &t
	}
	if p.BaselineRun != "" {
		out.BaselineRun = &p.BaselineRun
	}
	return out
}

// handleProjectsList: GET /api/projects.
func (s *Server) handleProjectsList(c *gin.Context) {
	list, err := s.runs.Projects(c.Request.Context(), runActor(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]projectResponse, len(list))
	for i := range list {
		out[i] = toProjectResponse(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"projects": out})
}

// handleBaselineSet: PUT /api/projects/{name}/baseline {"run_id"}.
func (s *Server) handleBaselineSet(c *gin.Context) {
	var in struct {
		RunID string `json:"run_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	if strings.TrimSpace(in.RunID) == "" {
		s.writeError(c, &runs.InputError{Field: "run_id", Code: "required", Message: "Name the approved run that becomes the baseline."})
		return
	}
	if err := s.runs.SetBaseline(c.Request.Context(), runActor(c), c.Param("name"), in.RunID); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleBaselineClear: DELETE /api/projects/{name}/baseline.
func (s *Server) handleBaselineClear(c *gin.Context) {
	if err := s.runs.SetBaseline(c.Request.Context(), runActor(c), c.Param("name"), ""); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// baselineResponse compares a run with its project's baseline.
type baselineResponse struct {
	RunID    string        `json:"run_id"`
	Name     string        `json:"name"`
	Approved bool          `json:"approved"`
	Params   []valueChange `json:"params"`
	Metrics  []metricDelta `json:"metrics"`
}

type metricDelta struct {
	Name     string    `json:"name"`
	Run      *db.Float `json:"run"`
	Baseline *db.Float `json:"baseline"`
	Delta    *db.Float `json:"delta"`
	Ratio    *db.Float `json:"ratio"`
}

func floatPtr(f *float64) *db.Float {
	if f == nil {
		return nil
	}
	v := db.Float(*f)
	return &v
}

func toBaselineResponse(b *runs.Baseline) *baselineResponse {
	if b == nil {
		return nil
	}
	out := &baselineResponse{RunID: b.Run.ID, Name: b.Run.Name, Approved: b.Approved, Params: []valueChange{}, Metrics: []metricDelta{}}
	for _, p := range b.Params {
		out.Params = append(out.Params, valueChange{Name: p.Name, Before: p.Before, After: p.After})
	}
	for _, m := range b.Metrics {
		out.Metrics = append(out.Metrics, metricDelta{Name: m.Name, Run: floatPtr(m.Run), Baseline: floatPtr(m.Baseline),
			Delta: floatPtr(m.Delta), Ratio: floatPtr(m.Ratio)})
	}
	return out
}
