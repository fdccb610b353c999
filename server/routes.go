package server

import (
	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/db"
)

// routes lists every route of labreview, grouped by who may call it.
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
	probes.GET("/healthz", s.handleHealthz)
	probes.HEAD("/healthz", s.handleHealthz)
	probes.GET("/readyz", s.handleReadyz)
	probes.HEAD("/readyz", s.handleReadyz)
	r.GET("/.well-known/jwks.json", s.handleJWKS)

	// Anyone may call these.
	public := r.Group("/api", noStore)
	public.GET("/health", s.handleHealthGet)
	public.GET("/auth/jwks", s.handleJWKS)
	public.GET("/setup", s.handleSetupGet)

	// Endpoints that read or set the refresh cookie: cross-origin requests
	// are refused before anything happens, bodies are small.
	cookie := public.Group("", s.crossOriginProtection, s.limitBodyTo(loginBodyLimit))
	cookie.POST("/auth/login", s.handleLogin)
	cookie.POST("/auth/refresh", s.handleRefresh)
	cookie.POST("/auth/logout", s.handleLogout)
	cookie.POST("/setup", s.handleSetupPost)

	// Any signed-in user (viewer, reviewer, admin), by bearer token only.
	user := public.Group("", s.authenticate)
	user.POST("/auth/logout-all", s.handleLogoutAll)
	user.GET("/auth/sessions", s.handleSessionsList)
	user.DELETE("/auth/sessions/:id", s.handleSessionDelete)
	user.GET("/me", s.handleMeGet)
	user.POST("/me/password", s.handleMePassword)
	// Saved views of the runs table: one's own only. *name takes the rest
	// of the path, so a name may hold a slash (sent as %2F).
	user.GET("/me/views", s.handleViewsList)
	user.PUT("/me/views/*name", s.handleViewPut)
	user.DELETE("/me/views/*name", s.handleViewDelete)
	// API tokens for cluster jobs: one's own; an admin lists and revokes all.
	user.POST("/tokens", s.handleTokensCreate)
	user.GET("/tokens", s.handleTokensList)
	user.DELETE("/tokens/:id", s.handleTokenDelete)

	// Runs: signed-in users by role, or API tokens by scope and project.
	// Viewers (and runs:read tokens) read; reviewers and admins (and
	// runs:write tokens) also create and change runs.
	runsAPI := public.Group("", s.authenticateRuns)
	runsRead := runsAPI.Group("", s.requireScope(auth.ScopeRunsRead))
	runsRead.GET("/runs", s.handleRunsList)
	// Before /runs/:id in meaning: a static segment wins over a parameter.
	runsRead.GET("/runs/keys", s.handleRunKeys)
	runsRead.GET("/runs/:id", s.handleRunGet)
	runsRead.GET("/runs/:id/series", s.handleSeriesGet)
	runsWrite := runsAPI.Group("", s.requireScope(auth.ScopeRunsWrite))
	runsWrite.POST("/runs", s.handleRunsCreate)
	runsWrite.PATCH("/runs/:id", s.handleRunPatch)
	runsWrite.POST("/runs/:id/series", s.handleSeriesAppend)
	runsRead.GET("/runs/:id/reviews", s.handleRunReviews)
	runsRead.GET("/runs/:id/comments", s.handleCommentsList)
	runsRead.GET("/projects", s.handleProjectsList)
	// Comments are people's: any signed-in user, no API token.
	comments := runsAPI.Group("", s.signedIn)
	comments.POST("/runs/:id/comments", s.handleCommentsCreate)
	comments.PATCH("/runs/:id/comments/:cid", s.handleCommentEdit)
	comments.DELETE("/runs/:id/comments/:cid", s.handleCommentDelete)
	// Verdicts are people's: signed-in reviewers and admins, no API token.
	review := runsAPI.Group("", s.signedIn, s.requireRole(db.RoleReviewer, db.RoleAdmin))
	review.POST("/runs/:id/review", s.handleRunReview)
	review.POST("/runs/review", s.handleRunsReview)
	review.POST("/runs/review/undo", s.handleRunsReviewUndo)
	review.PUT("/projects/:name/baseline", s.handleBaselineSet)
	review.DELETE("/projects/:name/baseline", s.handleBaselineClear)
	// Signed-in admins only: soft delete and restore.
	runsAdmin := runsAPI.Group("", s.signedIn, s.requireRole(db.RoleAdmin))
	runsAdmin.DELETE("/runs/:id", s.handleRunDelete)
	runsAdmin.POST("/runs/:id/restore", s.handleRunRestore)

	// Admins only.
	admin := user.Group("", s.requireRole(db.RoleAdmin))
	admin.GET("/users", s.handleUsersList)
	admin.POST("/users", s.handleUsersCreate)
	admin.GET("/users/:id", s.handleUserGet)
	admin.PATCH("/users/:id", s.handleUserPatch)
	admin.DELETE("/users/:id", s.handleUserDelete)
	admin.POST("/users/:id/password", s.handleUserPassword)
	admin.DELETE("/users/:id/sessions", s.handleUserSessionsDelete)
	admin.GET("/audit", s.handleAuditList)

	// Everything else: unknown /api paths get a JSON 404, other GET and HEAD
	// requests get the web UI (deep links and reloads work).
	r.NoRoute(s.handleNoRoute)
	r.NoMethod(noStore, s.handleNoMethod)
}
