package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"labreview/runs"
)

// runCloseRequest is the body of POST /api/runs/{id}/close.
type runCloseRequest struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// handleRunClose: POST /api/runs/{id}/close (runs:review). A queued or
// stale run becomes cancelled or failed with the reason given.
func (s *Server) handleRunClose(c *gin.Context) {
	var in runCloseRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	r, err := s.runs.Close(c.Request.Context(), runActor(c), c.Param("id"), in.Status, in.Reason)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, s.toRunResponse(r))
}

// handleSeriesDelete: DELETE /api/runs/{id}/series/{name}?from_step=S.
// With from_step (runs:write) the points from step S on are removed; without it
// the whole series (runs:delete as well). *name takes the rest of the
// path, so a name may hold a slash (train/loss); other characters are
// percent-encoded.
func (s *Server) handleSeriesDelete(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("name"), "/")
	var from *int64
	if v, ok := c.GetQuery("from_step"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.writeError(c, &runs.InputError{Field: "from_step", Code: "invalid", Message: "from_step is a step: a whole number from 0 to 2^53 − 1."})
			return
		}
		from = &n
	}
	removed, err := s.runs.TruncateSeries(c.Request.Context(), runActor(c), c.Param("id"), name, from)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"removed": removed})
}
