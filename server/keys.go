package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"labreview/runs"
)

// runKeysResponse lists the names live runs use, each kind sorted.
type runKeysResponse struct {
	Params    []string `json:"params"`
	Metrics   []string `json:"metrics"`
	Series    []string `json:"series"`
	Truncated bool     `json:"truncated"`
}

// handleRunKeys: GET /api/runs/keys?project=&prefix=. The param paths,
// metric and series names of the live runs the caller reaches, for
// completion and the column chooser.
func (s *Server) handleRunKeys(c *gin.Context) {
	k, err := s.runs.Keys(c.Request.Context(), runActor(c), runs.KeysQuery{Project: c.Query("project"), Prefix: c.Query("prefix")})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, runKeysResponse{Params: k.Params, Metrics: k.Metrics, Series: k.Series, Truncated: k.Truncated})
}
