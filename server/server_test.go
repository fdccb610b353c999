package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/db"
	"labreview/db/dbtest"
	"labreview/db/mongo"
	"labreview/runs"
)

// TestMain stops the MongoDB stand-in after the tests if one started it.
// The load baselines (TestServeForLoad, mode "bare") start no store at all:
// stores start only when a test asks for one.
func TestMain(m *testing.M) { dbtest.Main(m) }

// testAuthConfig is the production configuration with the cheapest
// password hashing the policy allows, so tests run fast.
func testAuthConfig() auth.Config {
	return auth.Config{
		AccessTokenTTL:    5 * time.Minute,
		RefreshTokenTTL:   time.Hour,
		SessionMaxAge:     7 * 24 * time.Hour,
		RefreshReuseGrace: 10 * time.Second,
		RefreshPerMinute:  30,
		Algorithm:         auth.AlgEdDSA,
		Issuer:            "labreview",
		Audience:          "labreview",
		Argon2:            auth.Argon2Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1},
		Throttle:          auth.ThrottleConfig{Window: 15 * time.Minute, AccountLimit: 5, IPLimit: 50},
		SetupURLBase:      "http://localhost:8080",
	}
}

// unreachableDB is a hosted database whose server does not exist.
func unreachableDB(t *testing.T) db.Store {
	t.Helper()
	d, err := mongo.Open(context.Background(), mongo.Options{
		URI:                    "mongodb://" + dbtest.FreeTCPAddr(t),
		ServerSelectionTimeout: 300 * time.Millisecond,
		ConnectTimeout:         300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

const (
	indexHTML = `<!doctype html><html lang="en"><head><script type="module" src="/assets/index-Ab12Cd34.js"></script></head><body><div id="root"></div></body></html>`
	appJS     = `console.log("labreview");` // identity bytes
)

// builtUI is a UI as Vite builds it: hashed assets with .br/.gz siblings.
func builtUI(t *testing.T) fstest.MapFS {
	t.Helper()
	js := []byte(strings.Repeat(appJS, 3000)) // 78 KB: large enough for ranges (minRangedSize)
	return fstest.MapFS{
		"index.html":                  {Data: []byte(indexHTML)},
		"favicon.svg":                 {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		".keep":                       {Data: nil},
		"assets/index-Ab12Cd34.js":    {Data: js},
		"assets/index-Ab12Cd34.js.gz": {Data: gzipBytes(t, js)},
		"assets/index-Ab12Cd34.js.br": {Data: brotliBytes(t, js)},
		"assets/index-Zz99Yy88.css":   {Data: []byte("body{margin:0}")},
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func brotliBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	srv     *Server
	engine  *gin.Engine
	handler http.Handler
	logs    *syncBuffer
	db      db.Store
	auth    *auth.Service
	t       testing.TB // do checks every answer against the OpenAPI document
}

// newTestServer builds the real handler on database (a fresh database of
// the embedded store when nil) with a real auth service.
func newTestServer(t *testing.T, opts Options, database db.Store, ui fstest.MapFS) *testServer {
	t.Helper()
	return newTestServerWith(t, opts, database, ui, testAuthConfig(), nil)
}

// clock is a settable time source for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestServerWith(t testing.TB, opts Options, database db.Store, ui fstest.MapFS, cfg auth.Config, clk *clock) *testServer {
	t.Helper()
	if database == nil {
		database = dbtest.SQLite(t)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.Version == "" {
		opts.Version = "test-version"
	}
	var now func() time.Time
	if clk != nil {
		now = clk.Now
	}
	svc, err := auth.New(context.Background(), cfg, database, logger, auth.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	srv, engine, err := newServer(logger, opts, database, svc, runs.New(database, runs.Config{}, logger, now), ui)
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{handler: engine, logs: logs, db: database, auth: svc, srv: srv, engine: engine, t: t}
}

type request struct {
	method  string
	path    string
	headers map[string]string
	body    string
	remote  string
	tls     bool
	host    string // default localhost: the refresh cookie can be Secure there
}

func (s *testServer) do(r request) *httptest.ResponseRecorder {
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	req.Host = "localhost"
	if r.host != "" {
		req.Host = r.host
	}
	if r.tls {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	checkAgainstOpenAPI(s.t, s.srv.openapi, req, rec)
	return rec
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error response has Content-Type %q, want JSON; body %q", ct, rec.Body.String())
	}
	var e errorBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body is not the error shape: %v", err)
	}
	if e.Error == "" || e.Message == "" || e.RequestID == "" {
		t.Fatalf("error body misses a field: %+v", e)
	}
	if e.RequestID != rec.Header().Get(requestIDHeader) {
		t.Fatalf("request_id %q differs from the %s header %q", e.RequestID, requestIDHeader, rec.Header().Get(requestIDHeader))
	}
	return e
}
