package server

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// TestServeIngestBaseline serves the bare baseline of .ci/bench-ingest.sh
// until the file "stop" appears in LABREVIEW_LOAD_DIR: a Gin engine whose
// handlers read each request's whole body and answer the bytes labreview
// answered to the same request (the files create.json and series.json in
// that folder, captured by the script): POST /api/runs with 201, POST
// /api/runs/{id}/series with 200. The difference to labreview is
// labreview's own work. Skipped unless LABREVIEW_LOAD=ingest-bare.
func TestServeIngestBaseline(t *testing.T) {
	if os.Getenv(loadModeEnv) != "ingest-bare" {
		t.Skip(loadModeEnv + "=ingest-bare not set: run .ci/bench-ingest.sh")
	}
	dir, addr := os.Getenv(loadDirEnv), os.Getenv(loadAddrEnv)
	if dir == "" || addr == "" {
		t.Fatalf("%s and %s are required", loadDirEnv, loadAddrEnv)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	created, appended := read("create.json"), read("series.json")
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	answer := func(status int, body []byte) gin.HandlerFunc {
		return func(c *gin.Context) {
			if _, err := io.Copy(io.Discard, c.Request.Body); err != nil {
				c.AbortWithStatus(http.StatusBadRequest)
				return
			}
			c.Data(status, "application/json; charset=utf-8", body)
		}
	}
	e.POST("/api/runs", answer(http.StatusCreated, created))
	e.POST("/api/runs/:id/series", answer(http.StatusOK, appended))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Hour)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no stop file after an hour")
}
