package server

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// handleNoRoute answers every request no route matched.
func (s *Server) handleNoRoute(c *gin.Context) {
	p := c.Request.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		s.writeError(c, &Error{Status: http.StatusNotFound, Code: "not_found",
			Message: "No API endpoint matches " + c.Request.Method + " " + p + "."})
		return
	}
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		if s.ui.serve(c) {
			return
		}
	}
	s.writeError(c, errNotFound)
}

// handleNoMethod answers a known path called with the wrong method; Gin has
// already set the Allow header.
func (s *Server) handleNoMethod(c *gin.Context) {
	s.writeError(c, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path + "."})
}
