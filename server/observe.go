package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
)

// pointsAddedKey carries the number of series points a request added, from
// the handler to the metrics.
const pointsAddedKey = "labreview.points_added"

// observe records every request in the metrics: by route template (never
// the raw path), method and status, and the domain events the answer tells
// of (sign-ins, refreshes, runs created, points ingested, query latency,
// API-token use, active sessions).
func (s *Server) observe(c *gin.Context) {
	m := s.opts.Metrics
	if m == nil {
		c.Next()
		return
	}
	start := time.Now()
	c.Next()
	took := time.Since(start)
	route, method, status := c.FullPath(), c.Request.Method, c.Writer.Status()
	m.Request(route, method, status, took)
	switch route {
	case "/api/auth/login":
		m.SignIn(authOutcome(status, "invalid"))
	case "/api/auth/refresh":
		m.Refresh(authOutcome(status, "invalid"))
	}
	if method == http.MethodPost && route == "/api/runs" && status == http.StatusCreated {
		m.RunCreated()
	}
	if method == http.MethodPost && route == "/api/runs/:id/series" && status == http.StatusOK {
		m.PointsIngested(c.GetInt(pointsAddedKey))
	}
	if method == http.MethodGet && status == http.StatusOK {
		if class := queryClass(route, c); class != "" {
			m.Query(class, took)
		}
	}
	if p := principal(c); p != nil && p.SessionID != "" {
		m.SessionSeen(p.SessionID, time.Now())
	}
	if bearerIsAPIToken(c.Request) {
		m.APITokenRequest(tokenOutcome(status))
	}
}

// authOutcome names a sign-in's or refresh's answer.
func authOutcome(status int, unauthorized string) string {
	switch {
	case status == http.StatusOK:
		return "ok"
	case status == http.StatusUnauthorized:
		return unauthorized
	case status == http.StatusTooManyRequests:
		return "throttled"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	case status >= 500:
		return "error"
	default:
		return "refused"
	}
}

func tokenOutcome(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusUnauthorized:
		return "invalid"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	case status >= 500:
		return "error"
	default:
		return "client_error"
	}
}

// queryClass sorts read queries into the classes whose latency is worth
// watching apart.
func queryClass(route string, c *gin.Context) string {
	switch route {
	case "/api/runs":
		switch {
		case c.Query("sort") != "":
			return "runs_sorted"
		case c.Query("q") != "":
			return "runs_query"
		default:
			return "runs_page"
		}
	case "/api/runs/keys":
		return "run_keys"
	case "/api/runs/:id/series":
		if c.Query("from") != "" || c.Query("to") != "" {
			return "series_window"
		}
		return "series_read"
	case "/api/projects":
		return "projects"
	case "/api/audit":
		return "audit"
	}
	return ""
}

func bearerIsAPIToken(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && auth.IsAPIToken(strings.TrimSpace(token))
}
