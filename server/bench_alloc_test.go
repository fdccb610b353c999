package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"labreview/auth"
	"labreview/db"
	"labreview/db/dbtest"
	"labreview/runs"
)

// BenchmarkHandler calls labreview's handler directly, without a network or
// a client, for GET /api/me and the main JS bundle with gzip: CPU time and,
// with -benchmem, allocations per request, which is what sets the garbage
// collector's pace under load. The access log goes to slog's text handler
// as in production (into io.Discard).
func BenchmarkHandler(b *testing.B) {
	ui := os.DirFS(distDir)
	asset := "/" + entryScript(b, ui)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := dbtest.SQLite(b)
	svc, err := auth.New(context.Background(), testAuthConfig(), d, logger, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	if _, err := svc.CreateUser(context.Background(), "", auth.NewUser{Email: "bench@lab.org", Name: "Bench",
		Role: db.RoleViewer, Password: viewerPW}, auth.ClientInfo{}); err != nil {
		b.Fatal(err)
	}
	h, err := New(logger, Options{Version: "bench"}, d, svc, runs.New(d, runs.Config{}, logger, nil), ui)
	if err != nil {
		b.Fatal(err)
	}
	access, _ := benchLogin(b, serveOn(b, "127.0.0.1:0", h))

	for _, tc := range []struct{ name, path, header, value string }{
		{"me", "/api/me", "Authorization", "Bearer " + access},
		{"asset-gzip", asset, "Accept-Encoding", "gzip"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, tc.path, nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set(tc.header, tc.value)
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.header)
				w.status = 0
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmark counts the handler's allocations, not a recorder's.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
