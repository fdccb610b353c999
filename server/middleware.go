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

	"labreview/db"
)

const requestIDHeader = "X-Request-ID"

// contentSecurityPolicy is sent with every response. The built UI loads
// only same-origin scripts, styles, images and fonts and has no inline
// script or style, so nothing here needs 'unsafe-inline'.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// requestIDEncoding is base32 in lower case, so generated IDs need no
// second pass.
var requestIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// canonicalRequestIDHeader is the key under which net/http stores the
// header: indexing the map with it skips canonicalising the name on every
// request.
var canonicalRequestIDHeader = http.CanonicalHeaderKey(requestIDHeader)

// requestID takes a well-formed X-Request-ID from the client (or a proxy)
// or makes one, and echoes it in the response. The response header is where
// the rest of the request reads it (requestIDOf): storing it in the Gin
// context as well would allocate that context's map on every request.
func (s *Server) requestID(c *gin.Context) {
	var id string
	if v := c.Request.Header[canonicalRequestIDHeader]; len(v) > 0 && validRequestID(v[0]) {
		id = v[0]
	} else {
		var b [10]byte
		_, _ = rand.Read(b[:])
		var buf [16]byte // 10 bytes are exactly 16 base32 characters
		id = string(requestIDEncoding.AppendEncode(buf[:0], b[:]))
	}
	c.Writer.Header()[canonicalRequestIDHeader] = []string{id}
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

func requestIDOf(c *gin.Context) string {
	if v := c.Writer.Header()[canonicalRequestIDHeader]; len(v) > 0 {
		return v[0]
	}
	return ""
}

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
	// Typed attributes: the same line as with key-value pairs, without
	// boxing each value into an interface on every request.
	s.log.LogAttrs(c.Request.Context(), level, "request",
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.String("client_ip", c.ClientIP()),
		slog.String("request_id", requestIDOf(c)),
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

// headerValue is a header value built once and shared by every response:
// assigning it to a canonical key allocates nothing, where Header.Set
// allocates a slice per header per request. Nothing in net/http, Gin or this
// package writes into a value in place, and a capacity of one makes an
// append copy.
func headerValue(v string) []string { return []string{v}[:1:1] }

// securityHeaderValues are the headers every response carries, under their
// canonical names.
var securityHeaderValues = [...]struct {
	key   string
	value []string
}{
	{"Content-Security-Policy", headerValue(contentSecurityPolicy)},
	{"X-Content-Type-Options", headerValue("nosniff")},
	{"Referrer-Policy", headerValue("no-referrer")},
	{"X-Frame-Options", headerValue("DENY")},
	{"Cross-Origin-Opener-Policy", headerValue("same-origin")},
	{"Cross-Origin-Resource-Policy", headerValue("same-origin")},
	{"Permissions-Policy", headerValue("camera=(), microphone=(), geolocation=(), payment=(), usb=()")},
}

var (
	hstsValue    = headerValue("max-age=63072000; includeSubDomains")
	noStoreValue = headerValue("no-store")
)

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	for _, sh := range securityHeaderValues {
		h[sh.key] = sh.value
	}
	if s.isHTTPS(c.Request) {
		h["Strict-Transport-Security"] = hstsValue
	}
	c.Next()
}

// noStore keeps API and probe answers out of every cache.
func noStore(c *gin.Context) {
	c.Writer.Header()["Cache-Control"] = noStoreValue
	c.Next()
}

// readiness is implemented by stores that know, without waiting, that they
// cannot answer yet: the hosted adapter until the deployment first
// answered and its indexes exist.
type readiness interface{ Ready() bool }

// errNotReady stands for every store error while the store is not ready.
var errNotReady = fmt.Errorf("server: the database has not answered since the start: %w", db.ErrUnavailable)

// storeGate answers API requests with 503 database_unavailable and
// Retry-After at once while the store is not ready, rather than after each
// waited the store's server-selection timeout. The probes, /api/health and
// the published keys need no store and go through.
func (s *Server) storeGate(c *gin.Context) {
	if r, ok := s.db.(readiness); ok && !r.Ready() && needsStore(c.Request.URL.Path) {
		s.writeError(c, errNotReady)
		return
	}
	c.Next()
}

func needsStore(path string) bool {
	if !strings.HasPrefix(path, "/api/") {
		return false
	}
	switch path {
	case "/api/health", "/api/auth/jwks", "/api/openapi.json":
		return false
	}
	return true
}
