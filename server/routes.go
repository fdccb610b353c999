package server

import (
	"net/http"
	"path"
	"strings"

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

	// The Python job client at the server's version (clients.go).
	dl := r.Group("/clients/python")
	for _, m := range []string{"GET", "HEAD"} {
		s.handle(dl, policy.Public, m, "/:file", s.handlePythonClientFile)
		s.handle(dl, policy.Public, m, "/simple/", s.handlePythonIndex)
		s.handle(dl, policy.Public, m, "/simple/labreview/", s.handlePythonIndex)
	}

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
	s.handle(api, policy.RunsRead, "GET", "/runs.csv", s.handleRunsCSV)
	// Several runs at once, for compare: by id, and one series read.
	s.handle(api, policy.RunsRead, "GET", "/runs/batch", s.handleRunsBatch)
	s.handle(api, policy.RunsRead, "GET", "/runs/series", s.handleRunsSeriesGet)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id", s.handleRunGet)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/series", s.handleSeriesGet)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/series.csv", s.handleSeriesCSV)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/reviews", s.handleRunReviews)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/comments", s.handleCommentsList)
	s.handle(api, policy.RunsRead, "GET", "/projects", s.handleProjectsList)
	s.handle(api, policy.RunsWrite, "POST", "/runs", s.handleRunsCreate)
	s.handle(api, policy.RunsWrite, "PATCH", "/runs/:id", s.handleRunPatch)
	s.handle(api, policy.RunsWrite, "POST", "/runs/:id/series", s.handleSeriesAppend)
	// Truncate a series from a step (a checkpoint restart); without
	// from_step the whole series goes, which needs runs:delete as well.
	// *name takes the rest of the path: series names may hold slashes.
	s.handle(api, policy.RunsWrite, "DELETE", "/runs/:id/series/*name", s.handleSeriesDelete)
	// Files of runs; *path takes the rest of the path (slashes included).
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/files", s.handleFilesList)
	s.handle(api, policy.RunsRead, "GET", "/runs/:id/files/*path", s.handleFileGet)
	s.handle(api, policy.RunsWrite, "PUT", "/runs/:id/files/*path", s.handleFilePut)
	s.handle(api, policy.RunsDelete, "DELETE", "/runs/:id/files/*path", s.handleFileDelete)
	s.handle(api, policy.RunsComment, "POST", "/runs/:id/comments", s.handleCommentsCreate)
	s.handle(api, policy.RunsComment, "PATCH", "/runs/:id/comments/:cid", s.handleCommentEdit)
	s.handle(api, policy.RunsComment, "DELETE", "/runs/:id/comments/:cid", s.handleCommentDelete)
	s.handle(api, policy.RunsReview, "POST", "/runs/:id/review", s.handleRunReview)
	s.handle(api, policy.RunsReview, "POST", "/runs/review", s.handleRunsReview)
	s.handle(api, policy.RunsReview, "POST", "/runs/review/undo", s.handleRunsReviewUndo)
	// Close a queued or stale run whose job died: cancelled or failed.
	s.handle(api, policy.RunsReview, "POST", "/runs/:id/close", s.handleRunClose)
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

	// MLflow's tracking API (docs/mlflow.md), under both of MLflow's
	// prefixes, and its artifact proxy on runs' files: the same
	// credentials and permissions as labreview's run endpoints, errors in
	// MLflow's shape.
	for _, prefix := range []string{"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"} {
		ml := s.mlflow
		g := r.Group(prefix, noStore, ml.Authenticate)
		s.handleML(g, policy.RunsRead, "GET", "/experiments/get", ml.ExperimentGet)
		s.handleML(g, policy.RunsRead, "GET", "/experiments/get-by-name", ml.ExperimentGetByName)
		s.handleML(g, policy.RunsRead, "GET", "/experiments/search", ml.ExperimentSearch)
		s.handleML(g, policy.RunsRead, "POST", "/experiments/search", ml.ExperimentSearch)
		s.handleML(g, policy.RunsRead, "GET", "/experiments/list", ml.ExperimentList)
		s.handleML(g, policy.RunsWrite, "POST", "/experiments/create", ml.ExperimentCreate)
		s.handleML(g, policy.RunsWrite, "POST", "/experiments/update", ml.ExperimentUpdate)
		s.handleML(g, policy.RunsWrite, "POST", "/experiments/delete", ml.ExperimentDelete)
		s.handleML(g, policy.RunsWrite, "POST", "/experiments/restore", ml.ExperimentRestore)
		s.handleML(g, policy.RunsWrite, "POST", "/experiments/set-experiment-tag", ml.ExperimentSetTag)
		// The npm client mlflow 2.0.7 posts here (a slash missing).
		s.handleML(g, policy.RunsWrite, "POST", "/experimentsset-experiment-tag", ml.ExperimentSetTag)
		s.handleML(g, policy.RunsRead, "GET", "/runs/get", ml.RunGet)
		s.handleML(g, policy.RunsRead, "POST", "/runs/search", ml.RunSearch)
		s.handleML(g, policy.RunsRead, "GET", "/runs/search", ml.RunSearch)
		s.handleML(g, policy.RunsRead, "GET", "/metrics/get-history", ml.MetricHistory)
		s.handleML(g, policy.RunsRead, "GET", "/artifacts/list", ml.ArtifactsList)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/create", ml.RunCreate)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/update", ml.RunUpdate)
		s.handleML(g, policy.RunsDelete, "POST", "/runs/delete", ml.RunDelete)
		s.handleML(g, policy.RunsDelete, "POST", "/runs/restore", ml.RunRestore)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/log-metric", ml.RunLogMetric)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/log-parameter", ml.RunLogParam)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/set-tag", ml.RunSetTag)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/delete-tag", ml.RunDeleteTag)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/log-batch", ml.RunLogBatch)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/log-inputs", ml.RunLogInputs)
		s.handleML(g, policy.RunsWrite, "POST", "/runs/log-model", ml.RunLogModel)
		// The model registry: empty reads, refused writes.
		s.handleML(g, policy.RunsRead, "GET", "/registered-models/search", ml.RegistryEmpty("registered_models"))
		s.handleML(g, policy.RunsRead, "GET", "/registered-models/list", ml.RegistryEmpty("registered_models"))
		s.handleML(g, policy.RunsRead, "GET", "/model-versions/search", ml.RegistryEmpty("model_versions"))
		s.handleML(g, policy.RunsRead, "GET", "/registered-models/get", ml.RegistryDisabled)
		s.handleML(g, policy.RunsRead, "GET", "/model-versions/get", ml.RegistryDisabled)
		s.handleML(g, policy.RunsWrite, "POST", "/registered-models/create", ml.RegistryDisabled)
		s.handleML(g, policy.RunsWrite, "POST", "/model-versions/create", ml.RegistryDisabled)
	}
	mlArt := r.Group("/api/2.0/mlflow-artifacts", noStore, s.mlflow.Authenticate)
	s.handleML(mlArt, policy.RunsRead, "GET", "/artifacts", s.mlflow.ArtifactList)
	s.handleML(mlArt, policy.RunsRead, "GET", "/artifacts/*path", s.mlflow.ArtifactGet)
	s.handleML(mlArt, policy.RunsWrite, "PUT", "/artifacts/*path", s.mlflow.ArtifactPut)
	s.handleML(mlArt, policy.RunsDelete, "DELETE", "/artifacts/*path", s.mlflow.ArtifactDelete)

	// Everything else: unknown /api paths get a JSON 404, other GET and HEAD
	// requests get the web UI (deep links and reloads work).
	r.NoRoute(s.handleNoRoute)
	r.NoMethod(noStore, s.handleNoMethod)
}

// handle registers one route behind the check of perm (none for
// policy.Public) and records the permission in the route table.
func (s *Server) handle(g *gin.RouterGroup, perm policy.Permission, method, relPath string, h gin.HandlerFunc) {
	full := path.Join(g.BasePath(), relPath)
	if strings.HasSuffix(relPath, "/") && !strings.HasSuffix(full, "/") {
		full += "/" // as Gin keeps it
	}
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

// handleML registers an MLflow route: as handle, with MLflow's own check
// of perm (its error shape).
func (s *Server) handleML(g *gin.RouterGroup, perm policy.Permission, method, relPath string, h gin.HandlerFunc) {
	full := path.Join(g.BasePath(), relPath)
	if _, dup := s.perms[method+" "+full]; dup {
		panic("server: route declared twice: " + method + " " + full)
	}
	s.perms[method+" "+full] = perm
	g.Handle(method, relPath, s.mlflow.Require(perm), h)
}

// mlflowArtifactsPath is the route of MLflow's artifact uploads (a larger
// body limit: limitBody).
const mlflowArtifactsPath = "/api/2.0/mlflow-artifacts/artifacts/*path"

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
