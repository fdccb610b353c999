package server

import (
	"net/http"
	"path"

	"github.com/gin-gonic/gin"

	"labreview/auth/policy"
)

// routes lists every route of labreview with the permission it needs
// (auth/policy is the table of who holds which). A route declared without
// one does not exist: handle takes the permission as an argument, and
// TestEveryRouteHasItsPermission walks the engine against the route table.
func (s *Server) routes(r *gin.Engine) {
	r.Use(
		s.requestID,
		s.accessLog,
		s.recovery,
		s.securityHeaders,
		s.limitBody,
		s.storeGate,
	)

	// Probes for load balancers and orchestrators; no authentication.
	probes := r.Group("/", noStore)
	s.handle(probes, policy.Public, "GET", "/healthz", s.handleHealthz)
	s.handle(probes, policy.Public, "HEAD", "/healthz", s.handleHealthz)
	s.handle(probes, policy.Public, "GET", "/readyz", s.handleReadyz)
	s.handle(probes, policy.Public, "HEAD", "/readyz", s.handleReadyz)
	s.handle(&r.RouterGroup, policy.Public, "GET", "/.well-known/jwks.json", s.handleJWKS)

	// Anyone may call these.
	public := r.Group("/api", noStore)
	s.handle(public, policy.Public, "GET", "/health", s.handleHealthGet)
	s.handle(public, policy.Public, "GET", "/auth/jwks", s.handleJWKS)
	s.handle(public, policy.Public, "GET", "/setup", s.handleSetupGet)
	s.handle(public, policy.Public, "GET", "/openapi.json", s.handleOpenAPI)

	// Endpoints that read or set the refresh cookie: cross-origin requests
	// are refused before anything happens, bodies are small.
	cookie := public.Group("", s.crossOriginProtection, s.limitBodyTo(loginBodyLimit))
	s.handle(cookie, policy.Public, "POST", "/auth/login", s.handleLogin)
	s.handle(cookie, policy.Public, "POST", "/auth/refresh", s.handleRefresh)
	s.handle(cookie, policy.Public, "POST", "/auth/logout", s.handleLogout)
	s.handle(cookie, policy.Public, "POST", "/setup", s.handleSetupPost)

	// Everything else takes a bearer credential: a signed-in person's
	// access token, or a job's API token (lrt_…), and needs a permission.
	api := public.Group("", s.authenticate)

	// One's own account. People only.
	s.handle(api, policy.Account, "POST", "/auth/logout-all", s.handleLogoutAll)
	s.handle(api, policy.Account, "GET", "/auth/sessions", s.handleSessionsList)
	s.handle(api, policy.Account, "DELETE", "/auth/sessions/:id", s.handleSessionDelete)
	s.handle(api, policy.Account, "GET", "/me", s.handleMeGet)
	s.handle(api, policy.Account, "POST", "/me/password", s.handleMePassword)
	// Saved views of the runs table: one's own only. *name takes the rest
	// of the path, so a name may hold a slash (sent as %2F).
	s.handle(api, policy.Account, "GET", "/me/views", s.handleViewsList)
	s.handle(api, policy.Account, "PUT", "/me/views/*name", s.handleViewPut)
	s.handle(api, policy.Account, "DELETE", "/me/views/*name", s.handleViewDelete)
	// API tokens for cluster jobs: one's own; with tokens:manage-all, all.
	s.handle(api, policy.Account, "POST", "/tokens", s.handleTokensCreate)
	s.handle(api, policy.Account, "GET", "/tokens", s.handleTokensList)
	s.handle(api, policy.Account, "DELETE", "/tokens/:id", s.handleTokenDelete)

	// Runs. A token limited to some projects reaches only those (runs
	// checks the run's project).
	s.handle(api, policy.RunsRead, "GET", "/runs", s.handleRunsList)
	// Before /runs/:id in meaning: a static segment wins over a parameter.
	s.handle(api, policy.RunsRead, "GET", "/runs/keys", s.handleRunKeys)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id", s.handleRunGet)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/series", s.handleSeriesGet)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/reviews", s.handleRunReviews)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/comments", s.handleCommentsList)
	s.handle(api, policy.RunsRead, "GET", "/projects", s.handleProjectsList)
	s.handle(api, policy.RunsWrite, "POST", "/runs", s.handleRunsCreate)
	s.handle(api, policy.RunsWrite, "PATCH", "/runs/:id", s.handleRunPatch)
	s.handle(api, policy.RunsWrite, "POST", "/runs/:id/series", s.handleSeriesAppend)
	s.handle(api, policy.RunsComment, "POST", "/runs/:id/comments", s.handleCommentsCreate)
	s.handle(api, policy.RunsComment, "PATCH", "/runs/:id/comments/:cid", s.handleCommentEdit)
	s.handle(api, policy.RunsComment, "DELETE", "/runs/:id/comments/:cid", s.handleCommentDelete)
	s.handle(api, policy.RunsReview, "POST", "/runs/:id/review", s.handleRunReview)
	s.handle(api, policy.RunsReview, "POST", "/runs/review", s.handleRunsReview)
	s.handle(api, policy.RunsReview, "POST", "/runs/review/undo", s.handleRunsReviewUndo)
	s.handle(api, policy.RunsReview, "PUT", "/projects/:name/baseline", s.handleBaselineSet)
	s.handle(api, policy.RunsReview, "DELETE", "/projects/:name/baseline", s.handleBaselineClear)
	s.handle(api, policy.RunsDelete, "DELETE", "/runs/:id", s.handleRunDelete)
	s.handle(api, policy.RunsDelete, "POST", "/runs/:id/restore", s.handleRunRestore)

	// Accounts and the audit trail.
	s.handle(api, policy.UsersManage, "GET", "/users", s.handleUsersList)
	s.handle(api, policy.UsersManage, "POST", "/users", s.handleUsersCreate)
	s.handle(api, policy.UsersManage, "GET", "/users/:id", s.handleUserGet)
	s.handle(api, policy.UsersManage, "PATCH", "/users/:id", s.handleUserPatch)
	s.handle(api, policy.UsersManage, "DELETE", "/users/:id", s.handleUserDelete)
	s.handle(api, policy.UsersManage, "POST", "/users/:id/password", s.handleUserPassword)
	s.handle(api, policy.UsersManage, "DELETE", "/users/:id/sessions", s.handleUserSessionsDelete)
	s.handle(api, policy.AuditRead, "GET", "/audit", s.handleAuditList)

	// Everything else: unknown /api paths get a JSON 404, other GET and HEAD
	// requests get the web UI (deep links and reloads work).
	r.NoRoute(s.handleNoRoute)
	r.NoMethod(noStore, s.handleNoMethod)
}

// handle registers one route behind the check of perm (none for
// policy.Public) and records the permission in the route table.
func (s *Server) handle(g *gin.RouterGroup, perm policy.Permission, method, relPath string, h gin.HandlerFunc) {
	full := path.Join(g.BasePath(), relPath)
	if _, dup := s.perms[method+" "+full]; dup {
		panic("server: route declared twice: " + method + " " + full)
	}
	s.perms[method+" "+full] = perm
	if perm == policy.Public {
		g.Handle(method, relPath, h)
		return
	}
	g.Handle(method, relPath, s.require(perm), h)
}

// routePermissions is the route table: "METHOD /path" → permission.
func (s *Server) routePermissions() map[string]policy.Permission { return s.perms }

// require lets the request through when the caller holds perm (on some
// project: the handler and runs check the resource itself).
func (s *Server) require(perm policy.Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		switch {
		case p.Can(perm, policy.Resource{}):
			c.Next()
		case p.IsToken() && !policy.TokenGrantable(perm):
			s.writeError(c, errTokenNotHere)
		case p.IsToken():
			s.writeError(c, scopeError(perm))
		default:
			s.writeError(c, errForbidden)
		}
	}
}

// scopeError names the scope a token lacks.
func scopeError(perm policy.Permission) *Error {
	return &Error{Status: http.StatusForbidden, Code: "insufficient_scope",
		Message: "This API token lacks the " + string(perm) + " scope that this needs; create a token with it on the API tokens page."}
}
