package server

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

const (
	requestIDHeader = "X-Request-ID"
	requestIDKey    = "labreview.request_id"
)

// contentSecurityPolicy is sent with every response. The built UI loads
// only same-origin scripts, styles, images and fonts and has no inline
// script or style, so nothing here needs 'unsafe-inline'.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

var requestIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// requestID takes a well-formed X-Request-ID from the client (or a proxy)
// or makes one, and echoes it in the response.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID(id) {
		var b [10]byte
		_, _ = rand.Read(b[:])
		id = strings.ToLower(requestIDEncoding.EncodeToString(b[:]))
	}
	c.Set(requestIDKey, id)
	c.Header(requestIDHeader, id)
	c.Next()
}

// validRequestID accepts 1–64 characters of [A-Za-z0-9._-], so a client's ID
// can be logged without escaping or log injection.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func requestIDOf(c *gin.Context) string { return c.GetString(requestIDKey) }

// accessLog writes one structured line per request. It logs the path
// without its query string (a setup link carries a token there) and never
// a header, so no Authorization header or cookie reaches the log.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	status := c.Writer.Status()
	level := slog.LevelInfo
	switch {
	case status == http.StatusServiceUnavailable:
		// Overload or a database outage: logged once (sampled) by
		// writeError; an error of ours is any other 5xx.
		level = slog.LevelWarn
	case status >= 500:
		level = slog.LevelError
	case c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/readyz":
		level = slog.LevelDebug // probes arrive every few seconds
	}
	s.log.Log(c.Request.Context(), level, "request",
		"method", c.Request.Method,
		"path", c.Request.URL.Path,
		"status", status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000,
		"bytes", max(c.Writer.Size(), 0),
		"client_ip", c.ClientIP(),
		"request_id", requestIDOf(c),
	)
}

// recovery turns a panic into a logged stack trace and a generic JSON 500.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec) // net/http's signal to drop the connection
		}
		s.log.ErrorContext(c.Request.Context(), "panic",
			"request_id", requestIDOf(c), "path", c.Request.URL.Path,
			"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		s.writeError(c, errInternal)
	}()
	c.Next()
}

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if s.isHTTPS(c.Request) {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	c.Next()
}

// noStore keeps API and probe answers out of every cache.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}
