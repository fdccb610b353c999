// Package server is labreview's HTTP layer: the Gin engine, its middleware,
// the JSON API handlers and the embedded web UI.
package server

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/auth/policy"
	"labreview/clients"
	"labreview/db"
	"labreview/runs"
	"labreview/server/metrics"
	"labreview/server/mlflow"
)

// Options is the part of the configuration the HTTP layer needs.
type Options struct {
	// Version is reported by /api/health.
	Version string
	// TrustedProxies are the addresses or CIDR ranges whose
	// X-Forwarded-For and X-Forwarded-Proto headers are believed.
	TrustedProxies []string
	// MaxBodyBytes caps every request body (413 above it).
	MaxBodyBytes int64
	// AllowInsecureCookies lets the refresh cookie be set without Secure
	// over plain HTTP to a non-localhost host (a closed lab network).
	AllowInsecureCookies bool
	// SeriesBodyBufferBytes bounds the memory of series batches being
	// received or waiting for their turn (0: DefaultSeriesBodyBuffer).
	SeriesBodyBufferBytes int64
	// Metrics records requests and domain events (nil: none).
	Metrics *metrics.Metrics
}

// Database is what the HTTP layer needs from the store.
type Database interface {
	Ping(ctx context.Context) error
	Mode() db.Mode
}

// Server holds the dependencies handlers need.
type Server struct {
	log     *slog.Logger
	opts    Options
	db      Database
	auth    *auth.Service
	runs    *runs.Service
	ui      *spa
	proxies []netip.Prefix
	csrf    *http.CrossOriginProtection
	sampled *sampledLog   // repeated operational messages, at most one per 10 s
	ingest  chan struct{} // turns of series batches (newIngestSlots)
	exports chan struct{} // runs exports streaming now (export.go)
	// exportPage and exportMax are the page size and the most runs of a
	// runs export (runs.MaxPageSize and maxExportRows; tests lower them).
	exportPage, exportMax int
	// seriesBodies holds series batches while they arrive (series_body.go).
	seriesBodies *bodyBuffer
	perms        map[string]policy.Permission // the route table: "METHOD /path" → permission
	python       *clients.Python              // the Python job client, at this server's version
	mlflow       *mlflow.API                  // MLflow's tracking API on the same runs
	openapi      []byte                       // GET /api/openapi.json (openapi.go)
}

// New builds the HTTP handler. ui is the built web UI (the contents of
// frontend/dist); when it holds no index.html, / explains how to build it.
func New(logger *slog.Logger, opts Options, database Database, authn *auth.Service, review *runs.Service, ui fs.FS) (http.Handler, error) {
	_, engine, err := newServer(logger, opts, database, authn, review, ui)
	if err != nil {
		return nil, err
	}
	return engine, nil
}

// newServer builds the server and its engine (tests read both).
func newServer(logger *slog.Logger, opts Options, database Database, authn *auth.Service, review *runs.Service, ui fs.FS) (*Server, *gin.Engine, error) {
	proxies, err := ParseTrustedProxies(opts.TrustedProxies)
	if err != nil {
		return nil, nil, err
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.SeriesBodyBufferBytes <= 0 {
		opts.SeriesBodyBufferBytes = DefaultSeriesBodyBuffer
	}
	site, err := newSPA(ui)
	if err != nil {
		return nil, nil, fmt.Errorf("server: load web UI: %w", err)
	}
	python, err := clients.NewPython(opts.Version)
	if err != nil {
		return nil, nil, err
	}
	s := &Server{log: logger, opts: opts, db: database, auth: authn, runs: review, ui: site, proxies: proxies, python: python,
		csrf: http.NewCrossOriginProtection(), sampled: newSampledLog(10 * time.Second),
		ingest: newIngestSlots(), exports: make(chan struct{}, exportSlots), exportPage: runs.MaxPageSize, exportMax: maxExportRows,
		perms:        map[string]policy.Permission{},
		seriesBodies: newBodyBuffer(opts.SeriesBodyBufferBytes, max(opts.MaxBodyBytes, seriesBodyLimit)),
		mlflow:       mlflow.New(logger.With("component", "mlflow"), authn, review)}

	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.HandleMethodNotAllowed = true
	engine.RemoveExtraSlash = true
	// Gin's redirects for a trailing slash or a path in another case are
	// answered before any middleware (no security headers, no request id,
	// no log line) and follow a client's X-Forwarded-Prefix. Without them,
	// such paths reach NoRoute: the JSON 404 under /api, the UI elsewhere.
	engine.RedirectTrailingSlash = false
	engine.RedirectFixedPath = false
	if err := engine.SetTrustedProxies(opts.TrustedProxies); err != nil {
		return nil, nil, fmt.Errorf("server: trusted proxies: %w", err)
	}
	// Before every route's chain, NoRoute's and NoMethod's included, so it
	// times the whole answer.
	engine.Use(s.observe)
	s.routes(engine)
	if s.openapi, _, err = buildOpenAPI(opts.Version, s.perms); err != nil {
		return nil, nil, fmt.Errorf("server: OpenAPI document: %w", err)
	}
	return s, engine, nil
}

// ParseTrustedProxies checks that each entry is an IP address or a CIDR
// range and returns them as prefixes.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, raw := range list {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		if strings.Contains(entry, "/") {
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", entry)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", entry)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// fromTrustedProxy reports whether the direct peer is a trusted proxy.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.proxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range s.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// isHTTPS reports whether the client reached us over HTTPS, directly or
// through a trusted TLS-terminating proxy.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.fromTrustedProxy(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
