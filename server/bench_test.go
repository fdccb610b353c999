package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"labreview/auth"
	"labreview/db/dbtest"
	"labreview/runs"
)

// distDir is the real built UI; `make bench` builds it first.
const distDir = "../frontend/dist"

// BenchmarkStatic compares labreview's UI serving (the whole middleware
// chain, access log included) with a bare net/http handler writing the same
// bytes from memory with the same headers, in the same run: the main JS
// bundle with gzip, and index.html (547 B, sent as it is). 64 keep-alive
// clients (GOMAXPROCS × parallelism) load a loopback server each. The wrk
// figures in docs/benchmarks.md come from .ci/bench-load.sh, which keeps
// client and server on separate cores.
func BenchmarkStatic(b *testing.B) {
	ui := os.DirFS(distDir)
	asset := entryScript(b, ui)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := dbtest.SQLite(b)
	svc, err := auth.New(context.Background(), testAuthConfig(), store, logger, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	h, err := New(logger, Options{Version: "bench"}, store, svc, runs.New(store, runs.Config{}, logger, nil), ui)
	if err != nil {
		b.Fatal(err)
	}
	ours := httptest.NewServer(h)
	defer ours.Close()

	for _, target := range []struct{ name, file, path, encoding string }{
		{"asset", asset, "/" + asset, "gzip"},
		{"index", indexName, "/", ""},
	} {
		bare := httptest.NewServer(bareStaticHandler(b, target.file, target.encoding))
		for _, srv := range []struct{ name, url string }{{"labreview", ours.URL}, {"bare", bare.URL}} {
			b.Run(target.name+"/"+srv.name, func(b *testing.B) {
				load(b, srv.url+target.path, target.encoding)
			})
		}
		bare.Close()
	}
}

func load(b *testing.B, url, acceptEncoding string) {
	loadWith(b, func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		return req
	})
}

// loadWith runs 64 keep-alive clients (GOMAXPROCS × 32) sending requests
// made by newReq, and reports req/s, p50 and p99 latency and body size.
func loadWith(b *testing.B, newReq func() *http.Request) {
	loadWithStatus(b, 32, http.StatusOK, newReq)
}

// loadWithStatus is loadWith with parallelism × GOMAXPROCS clients and the
// status every answer must have.
func loadWithStatus(b *testing.B, parallelism, status int, newReq func() *http.Request) {
	loadClients(b, parallelism*runtime.GOMAXPROCS(0), status, newReq)
}

// loadClients runs exactly clients concurrent keep-alive clients sending
// b.N requests made by newReq between them, and reports req/s, p50, p95
// and p99 latency and body size.
func loadClients(b *testing.B, clients, status int, newReq func() *http.Request) {
	transport := &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	var mu sync.Mutex
	var latencies []time.Duration
	var wire int64
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			var n int64
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				resp, err := client.Do(newReq())
				if err != nil {
					b.Error(err)
					return
				}
				c, _ := io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				local = append(local, time.Since(t0))
				n += c
				if resp.StatusCode != status {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
			mu.Lock()
			latencies, wire = append(latencies, local...), wire+n
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latencies) > 0 {
		b.ReportMetric(float64(wire)/float64(len(latencies)), "body-B/req")
	}
	report(b, latencies, elapsed)
}

// report adds req/s, p50 and p99 to the benchmark's output.
func report(b *testing.B, latencies []time.Duration, elapsed time.Duration) {
	if len(latencies) == 0 {
		return
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(percentile(latencies, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(latencies, 95).Microseconds()), "p95-µs")
	b.ReportMetric(float64(percentile(latencies, 99).Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op") // the per-request figures above are what matter
}

func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
