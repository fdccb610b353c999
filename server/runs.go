package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json/jsontext"

	"labreview/auth/policy"
	"labreview/db"
	"labreview/runs"
)

// runResponse is a run as the API shows it. status is the shown status:
// stale for a running run whose job has gone quiet.
type runResponse struct {
	ID              string         `json:"id"`
	Project         string         `json:"project"`
	ExternalID      string         `json:"external_id"`
	Name            string         `json:"name"`
	Status          string         `json:"status" enum:"queued|running|succeeded|failed|cancelled|stale"`
	Host            string         `json:"host"`
	JobID           string         `json:"job_id"`
	CreatedBy       runCreator     `json:"created_by"`
	Params          db.Params      `json:"params"`
	Metrics         db.Metrics     `json:"metrics"`
	Tags            []string       `json:"tags"`
	Notes           string         `json:"notes"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
	StartedAt       *time.Time     `json:"started_at"`
	FinishedAt      *time.Time     `json:"finished_at"`
	HeartbeatAt     *time.Time     `json:"heartbeat_at"`
	DurationSeconds *float64       `json:"duration_seconds"`
	DeletedAt       *time.Time     `json:"deleted_at"`
	Version         int64          `json:"version"`
	Review          reviewResponse `json:"review"`
	// Failure is why the run failed or was cancelled (null: no reason
	// given). Lists leave out its detail.
	Failure *failureBody `json:"failure"`
	// ChangesSinceReview, in the answer for one run with an outdated
	// verdict, says what moved since.
	ChangesSinceReview *changesResponse `json:"changes_since_review,omitempty"`
	// Baseline, in the answer for one run, compares it with its
	// project's baseline run (params: before is the baseline's value).
	Baseline *baselineResponse `json:"baseline,omitempty"`
	// Series are the run's series summaries, in the answer for one run;
	// in a list asked for summaries, those of the named series it has.
	Series *[]seriesResponse `json:"series,omitempty"`
}

// failureBody is a run's failure as the API reads and writes it.
type failureBody struct {
	Reason string  `json:"reason"`
	Detail *string `json:"detail,omitempty"`
}

func (f *failureBody) failure() *db.Failure {
	if f == nil {
		return nil
	}
	out := &db.Failure{Reason: f.Reason}
	if f.Detail != nil {
		out.Detail = *f.Detail
	}
	return out
}

type runCreator struct {
	UserID  string `json:"user_id"`
	TokenID string `json:"token_id,omitempty"`
	// UserName and TokenName, in the answer for one run, name the
	// creator and the API token it wrote with ("" when gone).
	UserName  string `json:"user_name,omitempty"`
	TokenName string `json:"token_name,omitempty"`
}

func (s *Server) toRunResponse(r *db.Run) runResponse {
	out := runResponse{ID: r.ID, Project: r.Project, ExternalID: r.ExternalID, Name: r.Name, Status: s.runs.ShownStatus(r),
		Host: r.Host, JobID: r.JobID, CreatedBy: runCreator{UserID: r.CreatedBy, TokenID: r.CreatedByToken},
		Params: r.Params, Metrics: r.Metrics, Tags: r.Tags, Notes: r.Notes, CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(), StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt),
		HeartbeatAt: utcPtr(r.HeartbeatAt), DeletedAt: utcPtr(r.DeletedAt), Version: r.Version, Review: toReviewResponse(r.Review)}
	if r.Failure != nil {
		detail := r.Failure.Detail
		out.Failure = &failureBody{Reason: r.Failure.Reason, Detail: &detail}
	}
	if r.StartedAt != nil {
		end := time.Now()
		if r.FinishedAt != nil {
			end = *r.FinishedAt
		}
		if r.FinishedAt != nil || r.Status == db.StatusRunning {
			d := end.Sub(*r.StartedAt).Seconds()
			out.DurationSeconds = &d
		}
	}
	return out
}

// runActor is who calls, for the runs domain.
func runActor(c *gin.Context) runs.Actor {
	p := principal(c)
	return runs.Actor{UserID: p.UserID, SessionID: p.SessionID, TokenID: p.TokenID, Access: p.Subject(),
		IP: c.ClientIP(), UserAgent: c.Request.UserAgent()}
}

// runCreateRequest is the body of POST /api/runs.
type runCreateRequest struct {
	Project    string         `json:"project"`
	ExternalID string         `json:"external_id"`
	Name       string         `json:"name"`
	Status     string         `json:"status"`
	Host       string         `json:"host"`
	JobID      string         `json:"job_id"`
	Params     jsontext.Value `json:"params"`
	Metrics    db.Metrics     `json:"metrics"`
	Tags       []string       `json:"tags"`
	Notes      string         `json:"notes"`
	Failure    *failureBody   `json:"failure"`
	readOnlyRunFields
}

// runPatchRequest is the body of PATCH /api/runs/{id}.
type runPatchRequest struct {
	Status     *string        `json:"status"`
	Metrics    db.Metrics     `json:"metrics"`
	Params     jsontext.Value `json:"params"`
	Tags       *[]string      `json:"tags"`
	Notes      *string        `json:"notes"`
	Heartbeat  bool           `json:"heartbeat"`
	FinishedAt *time.Time     `json:"finished_at"`
	Failure    *failureBody   `json:"failure"`
	readOnlyRunFields
	Project    jsontext.Value `json:"project"`
	ExternalID jsontext.Value `json:"external_id"`
}

// readOnlyRunFields are the server's fields of a run: a body that names
// one is refused with a message saying so, rather than as unknown.
type readOnlyRunFields struct {
	ID              jsontext.Value `json:"id"`
	CreatedBy       jsontext.Value `json:"created_by"`
	CreatedAt       jsontext.Value `json:"created_at"`
	UpdatedAt       jsontext.Value `json:"updated_at"`
	StartedAt       jsontext.Value `json:"started_at"`
	HeartbeatAt     jsontext.Value `json:"heartbeat_at"`
	DurationSeconds jsontext.Value `json:"duration_seconds"`
	DeletedAt       jsontext.Value `json:"deleted_at"`
	Version         jsontext.Value `json:"version"`
	Review          jsontext.Value `json:"review"`
}

func (f *readOnlyRunFields) named() string {
	for name, v := range map[string]jsontext.Value{"id": f.ID, "created_by": f.CreatedBy, "created_at": f.CreatedAt,
		"updated_at": f.UpdatedAt, "started_at": f.StartedAt, "heartbeat_at": f.HeartbeatAt,
		"duration_seconds": f.DurationSeconds, "deleted_at": f.DeletedAt, "version": f.Version, "review": f.Review} {
		if v != nil {
			return name
		}
	}
	return ""
}

func readOnlyField(name string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "read_only_field",
		Message: name + " is set by the server and cannot be written.", Details: []FieldError{{Field: name, Message: "read-only"}}}
}

func rawJSON(v jsontext.Value) json.RawMessage {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return json.RawMessage(v)
}

// handleRunsCreate: POST /api/runs. 201 with a new run; 200 with the run
// the project already has under the same external id.
func (s *Server) handleRunsCreate(c *gin.Context) {
	var in runCreateRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	if name := in.named(); name != "" {
		s.writeError(c, readOnlyField(name))
		return
	}
	r, created, err := s.runs.Create(c.Request.Context(), runActor(c), runs.NewRun{Project: in.Project,
		ExternalID: in.ExternalID, Name: in.Name, Status: in.Status, Host: in.Host, JobID: in.JobID,
		Params: rawJSON(in.Params), Metrics: in.Metrics, Tags: in.Tags, Notes: in.Notes, Failure: in.Failure.failure()})
	if err != nil {
		s.writeError(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.Header("Location", "/api/runs/"+r.ID)
	s.writeRunWritten(c, status, r)
}

// runWritten is the answer to a write by a caller who may not read the
// run (an API token with runs:write but not runs:read): what the write
// did, not the run. The whole run answered an idempotent create or an
// empty PATCH, which let a write-only token read any run of its projects.
type runWritten struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Status  string `json:"status" enum:"queued|running|succeeded|failed|cancelled|stale"`
}

// writeRunWritten answers a create or change of r: the run, or for a
// caller without runs:read on its project only runWritten.
func (s *Server) writeRunWritten(c *gin.Context, status int, r *db.Run) {
	if !principal(c).Can(policy.RunsRead, policy.Project(r.Project)) {
		c.JSON(status, runWritten{ID: r.ID, Version: r.Version, Status: s.runs.ShownStatus(r)})
		return
	}
	c.JSON(status, s.toRunResponse(r))
}

// handleRunGet: GET /api/runs/{id}.
func (s *Server) handleRunGet(c *gin.Context) {
	r, err := s.runs.Get(c.Request.Context(), runActor(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	sums, err := s.runs.SeriesSummaries(c.Request.Context(), r)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := s.toRunResponse(r)
	changes, err := s.runs.ChangesSince(c.Request.Context(), r, sums)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out.ChangesSinceReview = toChangesResponse(changes)
	base, err := s.runs.BaselineFor(c.Request.Context(), runActor(c), r)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out.Baseline = toBaselineResponse(base)
	list := make([]seriesResponse, len(sums))
	for i, sum := range sums {
		list[i] = toSeriesResponse(sum)
	}
	out.Series = &list
	if err := s.fillReviewNames(c, &out); err != nil {
		s.writeError(c, err)
		return
	}
	if err := s.fillCreatorNames(c, &out); err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// runsBatch is the answer of GET /api/runs/batch.
type runsBatch struct {
	Runs []runResponse `json:"runs"`
	// Missing lists the ids asked for that name no run the caller can
	// read, in the order asked.
	Missing []string `json:"missing"`
}

// handleRunsBatch: GET /api/runs/batch?ids=a,b,c (or id= repeated): up to
// 100 runs by id, each with its series summaries and as a list shows it
// otherwise (no failure detail, no baseline or changes since review).
func (s *Server) handleRunsBatch(c *gin.Context) {
	found, missing, err := s.runs.GetMany(c.Request.Context(), runActor(c), runIDsOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := runsBatch{Runs: make([]runResponse, len(found)), Missing: orEmpty(missing)}
	ptrs := make([]*runResponse, len(found))
	for i, r := range found {
		sums, err := s.runs.SeriesSummaries(c.Request.Context(), r)
		if err != nil {
			s.writeError(c, err)
			return
		}
		out.Runs[i] = s.toListedRun(r)
		out.Runs[i].Series = seriesOf(sums)
		ptrs[i] = &out.Runs[i]
	}
	if err := s.fillReviewNames(c, ptrs...); err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// fillCreatorNames names the user and the API token that created a run.
func (s *Server) fillCreatorNames(c *gin.Context, r *runResponse) error {
	users, err := s.auth.DisplayNames(c.Request.Context(), []string{r.CreatedBy.UserID})
	if err != nil {
		return err
	}
	r.CreatedBy.UserName = users[r.CreatedBy.UserID]
	if r.CreatedBy.TokenID == "" {
		return nil
	}
	tokens, err := s.auth.TokenNames(c.Request.Context(), []string{r.CreatedBy.TokenID})
	if err != nil {
		return err
	}
	r.CreatedBy.TokenName = tokens[r.CreatedBy.TokenID]
	return nil
}

// handleRunPatch: PATCH /api/runs/{id}.
func (s *Server) handleRunPatch(c *gin.Context) {
	var in runPatchRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	name := in.named()
	if in.Project != nil {
		name = "project"
	} else if in.ExternalID != nil {
		name = "external_id"
	}
	if name != "" {
		s.writeError(c, readOnlyField(name))
		return
	}
	r, err := s.runs.Update(c.Request.Context(), runActor(c), c.Param("id"), runs.Patch{Status: in.Status,
		Metrics: in.Metrics, Params: rawJSON(in.Params), Tags: in.Tags, Notes: in.Notes, Heartbeat: in.Heartbeat,
		FinishedAt: in.FinishedAt, Failure: in.Failure.failure()})
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.writeRunWritten(c, http.StatusOK, r)
}

// warningResponse is a hint about the query (runs.Warning): suggestion
// is the field or condition probably meant ("" for none), column where it
// stands in q (0: the project filter).
type warningResponse struct {
	Message    string `json:"message"`
	Suggestion string `json:"suggestion"`
	Column     int    `json:"column"`
}

// runsPage is the answer of GET /api/runs.
type runsPage struct {
	Runs       []runResponse     `json:"runs"`
	Next       *string           `json:"next"`
	Total      int64             `json:"total"`
	TotalExact bool              `json:"total_exact"`
	Warnings   []warningResponse `json:"warnings"`
}

// listQueryOf reads the filters of GET /api/runs (and of its CSV export).
func listQueryOf(c *gin.Context) (runs.ListQuery, error) {
	q := runs.ListQuery{Project: c.Query("project"), Status: c.Query("status"), Review: c.Query("review"), Cursor: c.Query("cursor"),
		Q: c.Query("q"), Sort: c.Query("sort"), Count: c.Query("count")}
	if n := c.Query("summaries"); n != "" {
		q.Summaries = strings.Split(n, ",")
	}
	q.Summaries = append(q.Summaries, c.QueryArray("summary")...)
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return q, &runs.InputError{Field: "limit", Code: "invalid", Message: fmt.Sprintf("A page holds 1 to %d runs.", runs.MaxPageSize)}
		}
		q.Limit = n
	}
	switch c.Query("deleted") {
	case "", "false":
	case "true":
		// Deleted runs are for those who can restore them.
		if !principal(c).Can(policy.RunsDelete, policy.Resource{}) {
			return q, errForbidden
		}
		q.Deleted = true
	default:
		return q, &runs.InputError{Field: "deleted", Code: "invalid", Message: "deleted is true or false."}
	}
	return q, nil
}

// toListedRun is a run as lists of runs show it: without its failure's
// detail (up to 16 KiB a run: read it from the run).
func (s *Server) toListedRun(r *db.Run) runResponse {
	out := s.toRunResponse(r)
	if out.Failure != nil {
		out.Failure.Detail = nil
	}
	return out
}

// handleRunsList: GET /api/runs?project=&status=&deleted=&cursor=&limit=.
func (s *Server) handleRunsList(c *gin.Context) {
	q, err := listQueryOf(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	page, err := s.runs.List(c.Request.Context(), runActor(c), q)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]runResponse, len(page.Runs))
	ptrs := make([]*runResponse, len(out))
	for i := range page.Runs {
		out[i] = s.toListedRun(&page.Runs[i])
		if len(q.Summaries) > 0 {
			out[i].Series = seriesOf(page.Summaries[page.Runs[i].ID])
		}
		ptrs[i] = &out[i]
	}
	if err := s.fillReviewNames(c, ptrs...); err != nil {
		s.writeError(c, err)
		return
	}
	warnings := make([]warningResponse, len(page.Warnings))
	for i, w := range page.Warnings {
		warnings[i] = warningResponse{Message: w.Message, Suggestion: w.Suggestion, Column: w.Column}
	}
	resp := runsPage{Runs: out, Total: page.Total, TotalExact: page.TotalExact, Warnings: warnings}
	if page.Next != "" {
		resp.Next = &page.Next
	}
	c.JSON(http.StatusOK, resp)
}

// handleRunDelete: DELETE /api/runs/{id} (admins, signed in): a soft
// delete.
func (s *Server) handleRunDelete(c *gin.Context) {
	if _, err := s.runs.Delete(c.Request.Context(), runActor(c), c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleRunRestore: POST /api/runs/{id}/restore (admins, signed in).
func (s *Server) handleRunRestore(c *gin.Context) {
	r, err := s.runs.Restore(c.Request.Context(), runActor(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, s.toRunResponse(r))
}
