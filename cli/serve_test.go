package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"labreview/db/dbtest"
)

// TestMain doubles as the real main when re-executed by exit-code tests.
func TestMain(m *testing.M) {
	if os.Getenv("LABREVIEW_TEST_EXEC_MAIN") == "1" {
		os.Exit(Main(context.Background(), Env{Args: strings.Fields(os.Getenv("LABREVIEW_TEST_ARGS")),
			Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, UI: testUI(), Build: testBuild}))
	}
	dbtest.Main(m)
}

// testBuild stands for the linker's stamp in main.
var testBuild = Build{Version: "v9.9.9-test", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"}

// run runs the command line as main does, with the tests' web UI.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return Run(ctx, Env{Args: args, Getenv: getenv, Stdin: stdin, Stdout: stdout, Stderr: stderr, UI: testUI(), Build: testBuild})
}

const (
	testIndex = `<!doctype html><html lang="en"><head><title>labreview</title><script type="module" src="/assets/main-Q1w2E3r4.js"></script></head><body><div id="root"></div></body></html>`
	testJS    = "export const answer = 42;\n"
)

func testUI() fs.FS {
	js := strings.Repeat(testJS, 64)
	var gz bytes.Buffer
	zw := newGzip(&gz)
	_, _ = zw.Write([]byte(js))
	_ = zw.Close()
	return fstest.MapFS{
		"index.html":                 {Data: []byte(testIndex)},
		"assets/main-Q1w2E3r4.js":    {Data: []byte(js)},
		"assets/main-Q1w2E3r4.js.gz": {Data: gz.Bytes()},
	}
}

// logSink collects the JSON log and reports the address once "listening"
// has been logged.
type logSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addr  chan string
	found bool
}

func newLogSink() *logSink { return &logSink{addr: make(chan string, 1)} }

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.found {
		sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				l.found = true
				l.addr <- line.Addr
			}
		}
	}
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// instance is the whole program started in-process through run.
type instance struct {
	base string
	dir  string // data folder
	logs *logSink
	stop context.CancelFunc
	done chan error
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// start runs the program with an empty config file, a temp data folder and
// 127.0.0.1:0, plus env, and waits until it listens.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("# empty: defaults and environment only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"LABREVIEW_SERVER_ADDR": "127.0.0.1:0",
		"LABREVIEW_DATA_DIR":    filepath.Join(dir, "data"),
		"LABREVIEW_LOG_FORMAT":  "json",
		"LABREVIEW_LOG_LEVEL":   "debug",
	}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{logs: newLogSink(), stop: cancel, done: make(chan error, 1), dir: vars["LABREVIEW_DATA_DIR"]}
	go func() {
		in.done <- run(ctx, []string{"serve", "--config", cfgFile}, envMap(vars), strings.NewReader(""), io.Discard, in.logs)
	}()
	select {
	case addr := <-in.logs.addr:
		in.base = "http://" + addr
	case err := <-in.done:
		t.Fatalf("run ended before listening: %v\n%s", err, in.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("not listening after 30 s:\n%s", in.logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-in.done:
		case <-time.After(30 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	return in
}

// waitLog waits up to 10 s for text to appear in the log.
func (in *instance) waitLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(in.logs.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", text, in.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitReady waits up to 30 s for /readyz to answer 200, as a load balancer
// does before it sends traffic (a hosted store answers 503 until the
// deployment has answered and its indexes exist).
func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(in.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30 s:\n%s", in.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// A bare transport: Go's default one would add and strip gzip itself.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestRunServesEverything(t *testing.T) {
	in := start(t, nil)

	// The first lines say where the data lives and which URL to open.
	logs := in.logs.String()
	for _, want := range []string{"starting labreview", "database: embedded SQLite", `"url":"http://127.0.0.1:`} {
		if !strings.Contains(logs, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, logs)
		}
	}

	cases := []struct {
		path    string
		headers map[string]string
		status  int
		body    string
		header  map[string]string
	}{
		{"/healthz", nil, 200, `{"status":"ok"}`, map[string]string{"Cache-Control": "no-store"}},
		{"/readyz", nil, 200, `"status":"ready"`, nil},
		{"/api/health", nil, 200, `"mode":"embedded"`, nil},
		{"/", nil, 200, testIndex, map[string]string{"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8"}},
		{"/results/2024/run-7", nil, 200, testIndex, map[string]string{"Cache-Control": "no-cache"}},
		{"/api/nope", nil, 404, `"error":"not_found"`, map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{"/assets/main-Q1w2E3r4.js", map[string]string{"Accept-Encoding": "gzip"}, 200, "",
			map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding",
				"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "text/javascript; charset=utf-8"}},
		{"/assets/main-Q1w2E3r4.js", nil, 200, testJS, map[string]string{"Content-Encoding": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, in.base+tc.path, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(string(body), tc.body) {
				t.Fatalf("body %q lacks %q", body, tc.body)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers missing: %v", resp.Header)
			}
		})
	}

	t.Run("ETag revalidation", func(t *testing.T) {
		resp, _ := get(t, in.base+"/assets/main-Q1w2E3r4.js", map[string]string{"Accept-Encoding": "gzip"})
		etag := resp.Header.Get("ETag")
		resp, body := get(t, in.base+"/assets/main-Q1w2E3r4.js", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag})
		if etag == "" || resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("ETag %q; revalidation status %d with %d body bytes", etag, resp.StatusCode, len(body))
		}
	})

	// Graceful stop: run returns nil, the port closes, the database closes.
	in.stop()
	select {
	case err := <-in.done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
		in.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(in.base, "http://"), time.Second); err == nil {
		t.Fatal("still listening after shutdown")
	}
	if !strings.Contains(in.logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no stop line:\n%s", in.logs)
	}
}

// TestGracefulShutdownFinishesInFlight holds a request open (a sign-in
// whose body arrives slowly), stops the program, and expects that request
// to complete.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	in := start(t, nil)
	const form = "username=nobody%40lab.test&password=not-the-password-1"
	body, feed := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, in.base+"/api/auth/login", body)
	req.ContentLength = int64(len(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	began := time.Now()
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	if _, err := feed.Write([]byte(form[:10])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the request is now being read
	in.stop()
	time.Sleep(700 * time.Millisecond)
	if _, err := feed.Write([]byte(form[10:])); err != nil {
		t.Fatalf("the server stopped reading the request: %v", err)
	}
	_ = feed.Close()

	r := <-got
	if r.err != nil {
		t.Fatalf("in-flight request was cut: %v", r.err)
	}
	if r.status != http.StatusUnauthorized {
		t.Fatalf("in-flight sign-in: status %d, want 401", r.status)
	}
	if time.Since(began) < time.Second {
		t.Fatal("the request did not stay in flight across the shutdown signal")
	}
	select {
	case err := <-in.done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
		in.done <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
	}
}

// TestHostedDatabaseDownAtStart: the server starts and serves, readiness is
// 503 with Retry-After and the JSON error shape.
func TestHostedDatabaseDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	in := start(t, map[string]string{
		"LABREVIEW_MONGODB_URI":                      "mongodb://lab:pw-secret-1@" + addr + "/?authSource=admin&appname=marker-in-query",
		"LABREVIEW_MONGODB_SERVER_SELECTION_TIMEOUT": "500ms",
	})
	in.waitLog(t, "database: hosted MongoDB")
	for _, secret := range []string{"pw-secret-1", "marker-in-query"} {
		if strings.Contains(in.logs.String(), secret) {
			t.Fatalf("the log shows %q from the URI:\n%s", secret, in.logs.String())
		}
	}
	resp, body := get(t, in.base+"/readyz", nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var e struct{ Error, Message, RequestID string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error != "database_unavailable" || e.Message == "" {
		t.Fatalf("body %s", body)
	}
	if strings.Contains(string(body), addr) || strings.Contains(strings.ToLower(string(body)), "server selection") {
		t.Fatalf("driver detail leaked: %s", body)
	}
	if resp, _ := get(t, in.base+"/healthz", nil); resp.StatusCode != 200 {
		t.Fatalf("healthz %d while the database is down", resp.StatusCode)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	in := start(t, nil)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"healthcheck", "--url", in.base + "/readyz"}, envMap(nil), strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("healthcheck against a ready server: %v", err)
	}
	// Through the configured address, as in a container.
	port := in.base[strings.LastIndex(in.base, ":")+1:]
	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfgFile, []byte("server:\n  addr: \":"+port+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"healthcheck", "--config", cfgFile}, envMap(nil), strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("healthcheck through server.addr: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	_ = ln.Close()
	err := run(context.Background(), []string{"healthcheck", "--url", "http://" + closed + "/readyz", "--timeout", "1s"}, envMap(nil), strings.NewReader(""), &out, &out)
	if err == nil {
		t.Fatal("healthcheck succeeded against a closed port")
	}
}

func TestVersionCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envMap(nil), strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"labreview " + testBuild.Version, "commit: " + testBuild.Commit, "built: " + testBuild.Date} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output %q lacks %q", out.String(), want)
		}
	}
}

func TestConfigCommandRedactsSecrets(t *testing.T) {
	var out bytes.Buffer
	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfgFile, []byte("mongodb:\n  uri: mongodb://lab:hunter2-pass@db.example.org:27017/?authSource=admin&tlsCertificateKeyFilePassword=s3cret-key-pw&authMechanismProperties=AWS_SESSION_TOKEN:tok3n-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"config", "--config", cfgFile},
		envMap(map[string]string{"LABREVIEW_SERVER_READ_TIMEOUT": "45s"}), strings.NewReader(""), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{"hunter2", "s3cret-key-pw", "tok3n-value"} {
		if strings.Contains(s, secret) {
			t.Fatalf("secret %q printed:\n%s", secret, s)
		}
	}
	for _, want := range []string{"db.example.org:27017", "read_timeout: 45s", "database: labreview", "trusted_proxies: []", cfgFile,
		"access_token_ttl: 5m0s"} {
		if !strings.Contains(s, want) {
			t.Errorf("config output lacks %q:\n%s", want, s)
		}
	}
}

// TestExitCodes runs main in a child process: failures exit non-zero with a
// one-line reason on stderr.
func TestExitCodes(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args string
		env  []string
		want string
	}{
		{"unknown log level", "serve", []string{"LABREVIEW_LOG_LEVEL=loud"}, "log.level"},
		{"bad duration", "serve", []string{"LABREVIEW_SERVER_READ_TIMEOUT=5 minutes"}, "read_timeout"},
		{"bad URI", "serve", []string{"LABREVIEW_MONGODB_URI=postgres://x"}, "mongodb.uri"},
		{"unusable data folder", "serve", []string{"LABREVIEW_DATA_DIR=" + filepath.Join(notADir, "data")}, "data folder"},
		{"port in use", "serve", []string{"LABREVIEW_SERVER_ADDR=" + taken.Addr().String()}, "listen on"},
		{"missing config file", "serve --config /nonexistent/labreview.yaml", nil, "/nonexistent/labreview.yaml"},
		{"unknown subcommand", "frobnicate", nil, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Dir = t.TempDir() // no config.yaml here
			cmd.Env = append(os.Environ(), "LABREVIEW_TEST_EXEC_MAIN=1", "LABREVIEW_TEST_ARGS="+tc.args,
				"LABREVIEW_SERVER_ADDR=127.0.0.1:0", "LABREVIEW_DATA_DIR="+filepath.Join(t.TempDir(), "d"))
			cmd.Env = append(cmd.Env, tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v, want a non-zero exit code; stderr %s", err, stderr.String())
			}
			last := lastLine(stderr.String())
			if !strings.HasPrefix(last, "labreview: ") || !strings.Contains(last, tc.want) {
				t.Fatalf("last stderr line %q lacks %q", last, tc.want)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func newGzip(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

func TestAtLeastTwoProcsOnOneCPU(t *testing.T) {
	before := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(before)
	if got := atLeastTwoProcs(func(string) string { return "1" }); got != 0 || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("an explicit GOMAXPROCS was overridden: %d, now %d", got, runtime.GOMAXPROCS(0))
	}
	if got := atLeastTwoProcs(func(string) string { return "" }); got != 2 || runtime.GOMAXPROCS(0) != 2 {
		t.Fatalf("one CPU: got %d, GOMAXPROCS %d; want 2", got, runtime.GOMAXPROCS(0))
	}
	runtime.GOMAXPROCS(4)
	if got := atLeastTwoProcs(func(string) string { return "" }); got != 0 || runtime.GOMAXPROCS(0) != 4 {
		t.Fatalf("four CPUs were changed: %d", runtime.GOMAXPROCS(0))
	}
}

func TestCollectLessOftenUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	if got := collectLessOften(func(string) string { return "50" }); got != 0 || debug.SetGCPercent(100) != 100 {
		t.Fatalf("an explicit GOGC was overridden: %d", got)
	}
	if got := collectLessOften(func(string) string { return "" }); got != serverGCPercent {
		t.Fatalf("collectLessOften returned %d, want %d", got, serverGCPercent)
	}
	if now := debug.SetGCPercent(100); now != serverGCPercent {
		t.Fatalf("GOGC is %d, want %d", now, serverGCPercent)
	}
}

// TestGCPercentFollowsTheLiveHeap: 400 for a small live heap, then the
// percentage that keeps the growth to gcHeadroom, never under 100; and
// tuneGC applies it to the running process.
func TestGCPercentFollowsTheLiveHeap(t *testing.T) {
	for live, want := range map[uint64]int{0: 400, 3 << 20: 400, 32 << 20: 400, 64 << 20: 200, 128 << 20: 100, 1 << 30: 100} {
		if got := gcPercentFor(live); got != want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", live>>20, got, want)
		}
	}
	before := debug.SetGCPercent(serverGCPercent)
	defer debug.SetGCPercent(before)
	live := make([]byte, 256<<20)
	for i := range live {
		live[i] = byte(i)
	}
	runtime.GC()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tuneGC(ctx, 10*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(20 * time.Millisecond)
		cur := debug.SetGCPercent(-1)
		debug.SetGCPercent(cur)
		if cur == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with %d MiB live, GOGC stayed %d, want 100", len(live)>>20, cur)
		}
	}
	runtime.KeepAlive(live)
}

// TestHostedStartUpDoesNotWaitForTheDatabase: with the hosted database
// unreachable and the default 5 s server-selection timeout, the server
// listens at once, /healthz answers 200 at once, /readyz and the API 503
// with Retry-After at once; when the database comes up, service starts
// without a restart.
func TestHostedStartUpDoesNotWaitForTheDatabase(t *testing.T) {
	addr := dbtest.FreeTCPAddr(t)
	began := time.Now()
	in := start(t, map[string]string{"LABREVIEW_MONGODB_URI": "mongodb://" + addr + "/"})
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("listening after %s with the database down", took)
	}
	timed := func(method, path string, body string) (int, http.Header, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest(method, in.base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header, time.Since(t0)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 503},
		{"GET", "/api/health", "", 200},
		{"POST", "/api/auth/login", "username=a%40lab.test&password=long-enough-pw", 503},
		{"GET", "/api/runs", "", 503},
		{"GET", "/api/setup", "", 503},
	} {
		status, h, took := timed(tc.method, tc.path, tc.body)
		if status != tc.status || took > 500*time.Millisecond {
			t.Errorf("%s %s with the database down: %d after %s; want %d at once", tc.method, tc.path, status, took, tc.status)
		}
		if status == 503 && h.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", tc.method, tc.path)
		}
	}

	up := time.Now()
	dbtest.StartTCP(t, addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, _ := timed("GET", "/readyz", "")
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready 30 s after the database came up:\n%s", in.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ready %s after the database came up", time.Since(up).Round(10*time.Millisecond))
	// The API works: the keys load and a wrong password is a 401, not a 503.
	for {
		status, _, _ := timed("POST", "/api/auth/login", "username=a%40lab.test&password=long-enough-pw")
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sign-in still answers %d", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	in.waitLog(t, "no admin account exists yet")
}
