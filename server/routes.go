package server

import "github.com/gin-gonic/gin"

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

	// Public API: anyone may call.
	public := r.Group("/api", noStore)
	public.GET("/health", s.handleHealthGet)

	// Everything else: unknown /api paths get a JSON 404, other GET and HEAD
	// requests get the web UI (deep links and reloads work).
	r.NoRoute(s.handleNoRoute)
	r.NoMethod(noStore, s.handleNoMethod)
}
