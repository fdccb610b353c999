package server

import (
	"fmt"
	"html"
	"net/http"

	"github.com/gin-gonic/gin"
)

// The Python job client, served by the server pinned to its own version
// (clients.Python): the one file, a wheel of it, and a PEP 503 index page
// so that `pip install --index-url $LABREVIEW_URL/clients/python/simple
// labreview` works. Anyone may fetch them: they hold no secret.

const (
	pythonFileType  = "text/x-python; charset=utf-8"
	wheelType       = "application/zip"
	immutableCached = "public, max-age=31536000, immutable"
)

// handlePythonClientFile: GET /clients/python/{labreview.py | the wheel}.
func (s *Server) handlePythonClientFile(c *gin.Context) {
	p := s.python
	switch file := c.Param("file"); file {
	case "labreview.py":
		etag := `"` + p.WheelSHA256[:32] + `"` // the wheel's hash covers the file
		c.Header("ETag", etag)
		c.Header("Cache-Control", "no-cache")
		if c.GetHeader("If-None-Match") == etag {
			c.Status(http.StatusNotModified)
			return
		}
		c.Header("Content-Disposition", `inline; filename="labreview.py"`)
		c.Data(http.StatusOK, pythonFileType, p.Source)
	case p.WheelName:
		c.Header("Cache-Control", immutableCached)
		c.Header("Content-Disposition", `attachment; filename="`+p.WheelName+`"`)
		c.Data(http.StatusOK, wheelType, p.Wheel)
	default:
		s.writeError(c, &Error{Status: http.StatusNotFound, Code: "not_found",
			Message: fmt.Sprintf("This server serves labreview.py and %s (its version, %s).", p.WheelName, p.Version)})
	}
}

// handlePythonIndex: GET /clients/python/simple/ and /simple/labreview/,
// the pages pip reads from an index (PEP 503).
func (s *Server) handlePythonIndex(c *gin.Context) {
	p := s.python
	c.Header("Cache-Control", "no-cache")
	body := `<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.0"><title>labreview</title></head><body>` +
		`<a href="labreview/">labreview</a></body></html>`
	if c.FullPath() != "/clients/python/simple/" {
		href := "../../" + html.EscapeString(p.WheelName) + "#sha256=" + p.WheelSHA256
		body = `<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.0"><title>labreview</title></head><body>` +
			`<a href="` + href + `" data-requires-python="&gt;=3.8">` + html.EscapeString(p.WheelName) + `</a></body></html>`
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(body))
}
