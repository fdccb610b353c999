package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"labreview/db/dbtest"
)

// bins are the binaries every test runs, built once by TestMain: the
// labreview binary as `make build` builds it (same flags, so the build
// cache serves both), and ferretd, FerretDB in a process of its own.
var bins struct{ labreview, ferretd, sqlitelock string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lrcluster-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for _, b := range []struct {
			out  *string
			name string
			pkg  string
		}{
			{&bins.labreview, "labreview", "labreview"},
			{&bins.ferretd, "ferretd", "labreview/db/dbtest/ferretd"},
			{&bins.sqlitelock, "sqlitelock", "labreview/db/dbtest/sqlitelock"},
		} {
			*b.out = filepath.Join(dir, b.name)
			cmd := exec.Command("go", "build", "-trimpath", "-tags", "nomsgpack", "-o", *b.out, b.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b.pkg, err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// store is the hosted deployment of a test: ferretd behind the
// serialising proxy on a loopback port, which the test can cut.
type store struct {
	uri   string
	proxy *dbtest.Proxy
}

// startStore runs ferretd in a temporary folder and the proxy in front of
// it; both stop when t ends.
func startStore(t testing.TB) *store {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ferretd")
	cmd := exec.Command(bins.ferretd, "-dir", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var socket string
	select {
	case line := <-lines:
		var ok bool
		if socket, ok = strings.CutPrefix(line, "listening "); !ok {
			t.Fatalf("ferretd said %q\n%s", line, &stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("ferretd did not listen:\n%s", &stderr)
	}
	p := dbtest.StartProxy(t, socket)
	return &store{uri: p.URI(), proxy: p}
}

// server is one labreview process.
type server struct {
	t       testing.TB
	name    string
	env     []string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	metrics string // http://127.0.0.1:port/metrics, when served
	logs    *logBuffer
	done    chan struct{}
}

// hostedEnv is the environment of an instance on st: cheap password
// hashing (a test is no benchmark of Argon2), JSON logs, metrics on a
// loopback port, and generous sign-in limits unless a test sets its own.
func hostedEnv(st *store, db string, extra ...string) []string {
	env := []string{
		"LABREVIEW_MONGODB_URI=" + st.uri,
		"LABREVIEW_MONGODB_DATABASE=" + db,
	}
	return append(env, extra...)
}

var baseEnv = []string{
	"LABREVIEW_SERVER_ADDR=127.0.0.1:0",
	"LABREVIEW_METRICS_ADDR=127.0.0.1:0",
	"LABREVIEW_LOG_FORMAT=json",
	"LABREVIEW_LOG_LEVEL=info",
	"LABREVIEW_AUTH_ARGON2_MEMORY_KIB=19456",
	"LABREVIEW_AUTH_ARGON2_ITERATIONS=2",
	"LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_IP=100000",
}

// startServer runs `labreview serve` with env and waits until /readyz
// answers 200 (as a load balancer would before sending traffic). The
// process is killed when t ends unless stopped before.
func startServer(t testing.TB, name string, env []string) *server {
	t.Helper()
	s := &server{t: t, name: name, env: env}
	s.start()
	t.Cleanup(func() { s.kill() })
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("# defaults and environment only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bins.labreview, "serve", "--config", cfg)
	s.cmd.Env = append(append(append(os.Environ(), baseEnv...), "LABREVIEW_DATA_DIR="+filepath.Join(t.TempDir(), "data")), s.env...)
	s.logs = &logBuffer{found: map[string]chan string{"listening": make(chan string, 1), "metrics": make(chan string, 1)}}
	s.cmd.Stderr = s.logs
	s.cmd.Stdout = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	for _, what := range []string{"listening", "metrics"} {
		select {
		case addr := <-s.logs.found[what]:
			if what == "listening" {
				s.base = "http://" + addr
			} else {
				s.metrics = "http://" + addr + "/metrics"
			}
		case <-s.done:
			t.Fatalf("%s exited at start:\n%s", s.name, s.logs)
		case <-time.After(60 * time.Second):
			t.Fatalf("%s did not listen:\n%s", s.name, s.logs)
		}
	}
	s.waitReady(60 * time.Second)
}

func (s *server) waitReady(limit time.Duration) {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		resp, err := quick.Get(s.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited:\n%s", s.name, s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s:\n%s", s.name, limit, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM (in-flight requests are drained) and waits.
func (s *server) stop() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.t.Fatalf("%s did not stop within 60 s of SIGTERM:\n%s", s.name, s.logs)
	}
}

func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// pid of the running process.
func (s *server) pid() int { return s.cmd.Process.Pid }

// logBuffer keeps a process's log and reports the address of the first
// line whose msg is a key of found.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	part  []byte
	found map[string]chan string
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		var line struct{ Msg, Addr string }
		if json.Unmarshal(l.part[:i], &line) == nil {
			if ch, ok := l.found[line.Msg]; ok && line.Addr != "" {
				select {
				case ch <- line.Addr:
				default:
				}
			}
		}
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// createAdmin creates the first admin with the CLI on the hosted database
// (no server needed).
func createAdmin(t *testing.T, st *store, db, email, password string) {
	t.Helper()
	cmd := exec.Command(bins.labreview, "user", "create", "--email", email, "--name", "Admin", "--role", "admin", "--password-stdin")
	cmd.Env = append(append(os.Environ(), "LABREVIEW_DATA_DIR="+filepath.Join(t.TempDir(), "cli")), hostedEnv(st, db)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
}

// HTTP clients. quick is for probes and checks; the load uses its own
// transport so its connections do not crowd the checks'.
var quick = &http.Client{Timeout: 30 * time.Second}

// result is one answered (or failed) request.
type result struct {
	status int
	header http.Header
	body   []byte
	err    error // no HTTP answer
	start  time.Time
	took   time.Duration
}

func (r result) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body))
}

// errorCode is the `error` field of the JSON error shape.
func (r result) errorCode() string {
	var e struct{ Error string }
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

func do(c *http.Client, method, url string, hdr map[string]string, body io.Reader) result {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return result{err: err}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r := result{start: time.Now()}
	resp, err := c.Do(req)
	if err != nil {
		r.err, r.took = err, time.Since(r.start)
		return r
	}
	r.body, err = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	r.took = time.Since(r.start)
	if err != nil {
		r.err = err
		return r
	}
	r.status, r.header = resp.StatusCode, resp.Header
	return r
}

const refreshCookie = "__Secure-labreview_refresh"

// session is one browser: its access token and its refresh cookie.
type session struct {
	access, cookie string
}

func login(c *http.Client, base, email, password string) (session, result) {
	r := do(c, "POST", base+"/api/auth/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(url.Values{"username": {email}, "password": {password}}.Encode()))
	return grant(r, session{})
}

// refresh exchanges the cookie; a refresh answered from the grace window
// sets no cookie, and the browser keeps its current one.
func refresh(c *http.Client, base string, s session) (session, result) {
	r := do(c, "POST", base+"/api/auth/refresh", map[string]string{"Cookie": refreshCookie + "=" + s.cookie}, nil)
	return grant(r, s)
}

func logout(c *http.Client, base string, s session) result {
	return do(c, "POST", base+"/api/auth/logout", map[string]string{"Cookie": refreshCookie + "=" + s.cookie}, nil)
}

func grant(r result, prev session) (session, result) {
	if r.err != nil || r.status != 200 {
		return prev, r
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
		r.err = fmt.Errorf("no access token in %s", r.body)
		return prev, r
	}
	next := session{access: tok.AccessToken, cookie: prev.cookie}
	resp := http.Response{Header: r.header}
	for _, ck := range resp.Cookies() {
		if ck.Name == refreshCookie && ck.Value != "" {
			next.cookie = ck.Value
		}
	}
	if next.cookie == "" {
		r.err = errors.New("no refresh cookie")
		return prev, r
	}
	return next, r
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return bytes.NewReader(b)
}

func withJSON(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
}

// mustOK fails t unless r is a status of want, and decodes the body into out.
func mustOK(t *testing.T, what string, r result, out any, want ...int) {
	t.Helper()
	if len(want) == 0 {
		want = []int{200}
	}
	ok := false
	for _, w := range want {
		ok = ok || r.status == w
	}
	if r.err != nil || !ok {
		t.Fatalf("%s: %s (want %v)", what, r, want)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s: %v in %s", what, err, r.body)
		}
	}
}

// createToken makes an API token with read and write scopes.
func createToken(t *testing.T, base string, s session, name string) (id, token string) {
	t.Helper()
	var tok struct{ ID, Token string }
	mustOK(t, "create API token", do(quick, "POST", base+"/api/tokens", withJSON(s.access),
		jsonBody(map[string]any{"name": name, "scopes": []string{"runs:read", "runs:write"}})), &tok, 201)
	return tok.ID, tok.Token
}

// appendPoints sends steps [from, to) of series name with value f(step).
func appendPoints(c *http.Client, base, token, runID, name string, from, to int) result {
	pts := make([][2]float64, 0, to-from)
	for s := from; s < to; s++ {
		pts = append(pts, [2]float64{float64(s), pointValue(s)})
	}
	return do(c, "POST", base+"/api/runs/"+runID+"/series", withJSON(token), jsonBody(map[string]any{name: pts}))
}

// pointValue is the value every test writes at step s, so a read-back
// can tell a point from another's.
func pointValue(s int) float64 { return float64(s)*0.5 + 1 }

// readSeries reads a whole series (up to 100,000 points, not downsampled).
func readSeries(t *testing.T, base, token, runID, name string) (count int, points [][2]float64) {
	t.Helper()
	var out struct {
		Series []struct {
			Count       int
			Downsampled bool
			Points      [][2]float64
		}
	}
	mustOK(t, "read series", do(quick, "GET", base+"/api/runs/"+runID+"/series?max_points=100000&name="+url.QueryEscape(name),
		bearer(token), nil), &out)
	if len(out.Series) != 1 || out.Series[0].Downsampled {
		t.Fatalf("series %s of %s: %+v", name, runID, out.Series)
	}
	return out.Series[0].Count, out.Series[0].Points
}

// checkSeries fails t unless the series holds exactly steps 0..n-1, in
// order, each with its value.
func checkSeries(t *testing.T, base, token, runID, name string, n int) {
	t.Helper()
	count, pts := readSeries(t, base, token, runID, name)
	if count != n || len(pts) != n {
		t.Fatalf("series %s of run %s: count %d, %d points; want %d", name, runID, count, len(pts), n)
	}
	for i, p := range pts {
		if p[0] != float64(i) || p[1] != pointValue(i) {
			t.Fatalf("series %s of run %s: point %d is %v; want [%d %v]", name, runID, i, p, i, pointValue(i))
		}
	}
}

// sample is one reading of a process's resident memory and goroutines.
type sample struct {
	at         time.Time
	rss        int64 // bytes, from /proc
	goroutines int   // from /metrics
}

func (s *server) sample() (sample, error) {
	out := sample{at: time.Now()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return out, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return out, err
			}
			out.rss = kb << 10
		}
	}
	m, err := scrape(s.metrics)
	if err != nil {
		return out, err
	}
	out.goroutines = int(m["go_goroutines"])
	return out, nil
}

// scrape reads the unlabelled samples of a /metrics page, and labelled
// ones under their full series name.
func scrape(u string) (map[string]float64, error) {
	r := do(quick, "GET", u, nil, nil)
	if r.err != nil || r.status != 200 {
		return nil, fmt.Errorf("scrape %s: %s", u, r)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(r.body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] += v
	}
	return out, nil
}

// cpuSeconds is the process's user+system CPU time, from /proc.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces: fields
	// start after the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// within polls cond every 50 ms until it holds or limit passes; it
// returns how long that took and whether it held.
func within(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var _ = context.Background

func jsonUnmarshal(b []byte, out any) error { return json.Unmarshal(b, out) }
