package server

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/db"
	"labreview/runs"
)

// reviewResponse is a run's current verdict.
type reviewResponse struct {
	State    string     `json:"state" enum:"unreviewed|approved|rejected|needs_rerun"`
	ID       string     `json:"id,omitempty"`
	By       string     `json:"by,omitempty"`
	ByName   string     `json:"by_name,omitempty"`
	At       *time.Time `json:"at"`
	Comment  string     `json:"comment"`
	Outdated bool       `json:"outdated"`
}

func toReviewResponse(r db.RunReview) reviewResponse {
	return reviewResponse{State: db.NormalReviewState(r.State), ID: r.ID, By: r.By, At: utcPtr(r.At), Comment: r.Comment, Outdated: r.Outdated}
}

// changesResponse is what moved since an outdated verdict.
type changesResponse struct {
	Params  []valueChange  `json:"params"`
	Metrics []valueChange  `json:"metrics"`
	Series  []seriesChange `json:"series"`
}

type valueChange struct {
	Name   string `json:"name"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

type seriesChange struct {
	Name           string `json:"name"`
	CountBefore    int64  `json:"count_before"`
	CountAfter     int64  `json:"count_after"`
	LastStepBefore int64  `json:"last_step_before"`
	LastStepAfter  int64  `json:"last_step_after"`
}

func toChangesResponse(c *runs.Changes) *changesResponse {
	if c == nil {
		return nil
	}
	out := &changesResponse{Params: []valueChange{}, Metrics: []valueChange{}, Series: []seriesChange{}}
	for _, p := range c.Params {
		out.Params = append(out.Params, valueChange(p))
	}
	for _, m := range c.Metrics {
		out.Metrics = append(out.Metrics, valueChange(m))
	}
	for _, x := range c.Series {
		out.Series = append(out.Series, seriesChange(x))
	}
	return out
}

type verdictRequest struct {
	State   string `json:"state"`
	Comment string `json:"comment"`
}

// fillReviewNames puts the reviewers' names into run answers.
func (s *Server) fillReviewNames(c *gin.Context, runs ...*runResponse) error {
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		if r.Review.By != "" {
			ids = append(ids, r.Review.By)
		}
	}
	names, err := s.auth.DisplayNames(c.Request.Context(), ids)
	if err != nil {
		return err
	}
	for _, r := range runs {
		r.Review.ByName = names[r.Review.By]
	}
	return nil
}

// handleRunReview: POST /api/runs/{id}/review.
func (s *Server) handleRunReview(c *gin.Context) {
	var in verdictRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	r, err := s.runs.Review(c.Request.Context(), runActor(c), c.Param("id"), runs.Verdict{State: in.State, Comment: in.Comment})
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := s.toRunResponse(r)
	if err := s.fillReviewNames(c, &out); err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type bulkReviewRequest struct {
	IDs     []string `json:"ids"`
	Q       string   `json:"q"`
	State   string   `json:"state"`
	Comment string   `json:"comment"`
}

type bulkResponse struct {
	BatchID  string     `json:"batch_id"`
	Reviewed []string   `json:"reviewed"`
	Skipped  []bulkSkip `json:"skipped"`
}

type bulkSkip struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

func toBulkResponse(r *runs.BulkResult) bulkResponse {
	out := bulkResponse{BatchID: r.BatchID, Reviewed: r.Reviewed, Skipped: []bulkSkip{}}
	for _, sk := range r.Skipped {
		out.Skipped = append(out.Skipped, bulkSkip(sk))
	}
	return out
}

// handleRunsReview: POST /api/runs/review, one verdict for many runs.
func (s *Server) handleRunsReview(c *gin.Context) {
	var in bulkReviewRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	if (len(in.IDs) > 0) == (in.Q != "") {
		s.writeError(c, &runs.InputError{Field: "ids", Code: "invalid", Message: "Name the runs by ids or by a query q, one of the two."})
		return
	}
	ids := in.IDs
	if in.Q != "" {
		var err error
		if ids, err = s.runs.QueryIDs(c.Request.Context(), runActor(c), in.Q); err != nil {
			s.writeError(c, err)
			return
		}
		if len(ids) == 0 {
			c.JSON(http.StatusOK, bulkResponse{Reviewed: []string{}, Skipped: []bulkSkip{}})
			return
		}
	}
	res, err := s.runs.ReviewMany(c.Request.Context(), runActor(c), ids, runs.Verdict{State: in.State, Comment: in.Comment})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBulkResponse(res))
}

// handleRunsReviewUndo: POST /api/runs/review/undo {"batch_id"}.
func (s *Server) handleRunsReviewUndo(c *gin.Context) {
	var in struct {
		BatchID string `json:"batch_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.runs.UndoReview(c.Request.Context(), runActor(c), in.BatchID)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBulkResponse(res))
}

type reviewEntryResponse struct {
	ID      string    `json:"id"`
	State   string    `json:"state" enum:"unreviewed|approved|rejected|needs_rerun"`
	By      string    `json:"by"`
	ByName  string    `json:"by_name"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment"`
	BatchID string    `json:"batch_id"`
	// BatchSize is how many verdicts the batch gave: more than one is a
	// bulk review.
	BatchSize int64  `json:"batch_size"`
	UndoOf    string `json:"undo_of,omitempty"`
}

// handleRunReviews: GET /api/runs/{id}/reviews, the whole history.
func (s *Server) handleRunReviews(c *gin.Context) {
	hist, err := s.runs.History(c.Request.Context(), runActor(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	ids := make([]string, len(hist))
	for i, e := range hist {
		ids[i] = e.By
	}
	names, err := s.auth.DisplayNames(c.Request.Context(), ids)
	if err != nil {
		s.writeError(c, err)
		return
	}
	sizes, err := s.runs.BatchSizes(c.Request.Context(), hist)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]reviewEntryResponse, len(hist))
	for i, e := range hist {
		out[i] = reviewEntryResponse{ID: e.ID, State: e.State, By: e.By, ByName: names[e.By], At: e.At.UTC(), Comment: e.Comment,
			BatchID: e.BatchID, BatchSize: sizes[e.BatchID], UndoOf: e.UndoOf}
	}
	c.JSON(http.StatusOK, gin.H{"reviews": out})
}
