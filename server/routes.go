package server

import (
	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/db"
)

// mlflowArtifactsPath is the route of MLflow's artifact uploads (a larger
// body limit: limitBody).
const mlflowArtifactsPath = "/api/2.0/mlflow-artifacts/artifacts/*path"

// routes lists every route of labreview, grouped by who may call it.
func (s *Server) routes(r *gin.Engine) {
	r.Use(
		s.requestID,
		s.accessLog,
		s.recovery,
		s.securityHeaders,
		s.limitBody,
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
	// Files of runs; *path takes the rest of the path (slashes included).
	runsRead.GET("/runs/:id/files", s.handleFilesList)
	runsRead.GET("/runs/:id/files/*path", s.handleFileGet)
	runsWrite.PUT("/runs/:id/files/*path", s.handleFilePut)
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
	runsAdmin.DELETE("/runs/:id/files/*path", s.handleFileDelete)

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

	// MLflow's tracking API (docs/mlflow.md), under both of MLflow's
	// prefixes, with API tokens or signed-in users as on the run
	// endpoints; errors in MLflow's shape. runs:read reads, runs:write
	// writes; deleting and restoring runs is for signed-in admins (checked
	// by the handler, as MLflow has one endpoint for everyone).
	for _, prefix := range []string{"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"} {
		ml := s.mlflow
		g := r.Group(prefix, noStore, ml.Authenticate)
		read := g.Group("", ml.Require(auth.ScopeRunsRead))
		write := g.Group("", ml.Require(auth.ScopeRunsWrite))
		read.GET("/experiments/get", ml.ExperimentGet)
		read.GET("/experiments/get-by-name", ml.ExperimentGetByName)
		read.GET("/experiments/search", ml.ExperimentSearch)
		read.POST("/experiments/search", ml.ExperimentSearch)
		read.GET("/experiments/list", ml.ExperimentList)
		write.POST("/experiments/create", ml.ExperimentCreate)
		write.POST("/experiments/update", ml.ExperimentUpdate)
		write.POST("/experiments/delete", ml.ExperimentDelete)
		write.POST("/experiments/restore", ml.ExperimentRestore)
		write.POST("/experiments/set-experiment-tag", ml.ExperimentSetTag)
		// The npm client mlflow 2.0.7 posts here (a slash missing).
		write.POST("/experimentsset-experiment-tag", ml.ExperimentSetTag)
		read.GET("/runs/get", ml.RunGet)
		read.POST("/runs/search", ml.RunSearch)
		read.GET("/runs/search", ml.RunSearch)
		read.GET("/metrics/get-history", ml.MetricHistory)
		write.POST("/runs/create", ml.RunCreate)
		write.POST("/runs/update", ml.RunUpdate)
		write.POST("/runs/delete", ml.RunDelete)
		write.POST("/runs/restore", ml.RunRestore)
		write.POST("/runs/log-metric", ml.RunLogMetric)
		write.POST("/runs/log-parameter", ml.RunLogParam)
		write.POST("/runs/set-tag", ml.RunSetTag)
		write.POST("/runs/delete-tag", ml.RunDeleteTag)
		write.POST("/runs/log-batch", ml.RunLogBatch)
		write.POST("/runs/log-inputs", ml.RunLogInputs)
		write.POST("/runs/log-model", ml.RunLogModel)
		// The model registry: empty reads, refused writes.
		read.GET("/registered-models/search", ml.RegistryEmpty("registered_models"))
		read.GET("/registered-models/list", ml.RegistryEmpty("registered_models"))
		read.GET("/model-versions/search", ml.RegistryEmpty("model_versions"))
		read.GET("/registered-models/get", ml.RegistryDisabled)
		read.GET("/model-versions/get", ml.RegistryDisabled)
		write.POST("/registered-models/create", ml.RegistryDisabled)
		write.POST("/model-versions/create", ml.RegistryDisabled)
		read.GET("/artifacts/list", ml.ArtifactsList)
	}
	// MLflow's artifact proxy (mlflow-artifacts:/ URIs) on runs' files.
	mlArt := r.Group("/api/2.0/mlflow-artifacts/artifacts", noStore, s.mlflow.Authenticate)
	mlArt.GET("", s.mlflow.Require(auth.ScopeRunsRead), s.mlflow.ArtifactList)
	mlArt.GET("/*path", s.mlflow.Require(auth.ScopeRunsRead), s.mlflow.ArtifactGet)
	mlArt.PUT("/*path", s.mlflow.Require(auth.ScopeRunsWrite), s.mlflow.ArtifactPut)
	mlArt.DELETE("/*path", s.mlflow.Require(auth.ScopeRunsWrite), s.mlflow.ArtifactDelete)

	// Everything else: unknown /api paths get a JSON 404, other GET and HEAD
	// requests get the web UI (deep links and reloads work).
	r.NoRoute(s.handleNoRoute)
	r.NoMethod(noStore, s.handleNoMethod)
}
