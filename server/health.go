package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// pingTimeout bounds the database check of the readiness probes.
const pingTimeout = 2 * time.Second

// handleHealthz answers 200 while the process can serve HTTP at all.
func (s *Server) handleHealthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleReadyz answers 200 when the database is reachable and ready, and
// 503 with Retry-After otherwise, so a load balancer stops sending traffic.
func (s *Server) handleReadyz(c *gin.Context) {
	if err := s.pingDatabase(c.Request.Context()); err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "database": "up"})
}

// healthResponse is the body of GET /api/health.
type healthResponse struct {
	Status   string         `json:"status" enum:"ok|degraded"`
	Version  string         `json:"version"`
	Database databaseHealth `json:"database"`
}

type databaseHealth struct {
	Status string `json:"status" enum:"up|down"`
	Mode   string `json:"mode" enum:"embedded|hosted"`
}

// handleHealthGet reports the server's state for the web UI. It answers 200
// even when the database is down: the UI shows that state rather than an
// error.
func (s *Server) handleHealthGet(c *gin.Context) {
	resp := healthResponse{
		Status:   "ok",
		Version:  s.opts.Version,
		Database: databaseHealth{Status: "up", Mode: string(s.db.Mode())},
	}
	if err := s.pingDatabase(c.Request.Context()); err != nil {
		resp.Status = "degraded"
		resp.Database.Status = "down"
	}
	c.JSON(http.StatusOK, resp)
}

func (s *Server) pingDatabase(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return s.db.Ping(ctx)
}
