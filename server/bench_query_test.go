package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestQueryMatrixBenchmark is issue 18's benchmark (`make bench` runs it;
// figures in docs/benchmarks.md): the real binary in its own process on a
// fresh data folder, seeded through the API from this process with 10,000
// and then 100,000 runs (10 projects, 5 statuses, params lr p1 p2 p3 seed
// opt, metrics loss acc f1, tags on some, a loss series on one in ten),
// and a matrix of query shapes, each written as chips and as text (and in
// other orders, in and or), measured right after the ingest and again
// right after a restart, beside the plain first page in the same run.
// It runs only with LABREVIEW_QUERY_BENCH_BIN set to the binary.
func TestQueryMatrixBenchmark(t *testing.T) {
	bin := os.Getenv("LABREVIEW_QUERY_BENCH_BIN")
	if bin == "" {
		t.Skip("set LABREVIEW_QUERY_BENCH_BIN to the labreview binary (make bench does)")
	}
	sizes := []int{10_000, 100_000}
	if s := os.Getenv("QUERY_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			var n int
			fmt.Sscan(f, &n)
			sizes = append(sizes, n)
		}
	}
	rounds := 100 // p95 is the 5th worst, p99 the worst: 30 made p95 the second worst, a single GC pause
	qb := startQueryBench(t, bin)
	defer qb.stop()
	seeded := 0
	results := map[string]map[string][3]time.Duration{} // phase → shape → p50, p95, p99
	rows := map[string]map[string]int{}                 // phase → shape → runs in its page
	var phases []string
	for _, size := range sizes {
		t0 := time.Now()
		qb.seed(t, seeded, size)
		t.Logf("seeded %d runs through the API in %v (%.0f runs/s)", size-seeded, time.Since(t0).Round(time.Second),
			float64(size-seeded)/time.Since(t0).Seconds())
		seeded = size
		for _, when := range []string{"after ingest", "after restart"} {
			if when == "after restart" {
				t0 := time.Now()
				qb.restart(t)
				t.Logf("restart to /readyz = 200 at %d runs: %v", size, time.Since(t0).Round(time.Millisecond))
			}
			phase := fmt.Sprintf("%d runs, %s", size, when)
			phases = append(phases, phase)
			results[phase], rows[phase] = qb.measure(t, rounds)
		}
	}
	// The report: one line per shape and written form.
	var b strings.Builder
	fmt.Fprintf(&b, "\n| shape | form | runs in the page |")
	for _, p := range phases {
		fmt.Fprintf(&b, " %s: p50 / p95 / p99 (ms) |", p)
	}
	fmt.Fprintf(&b, "\n|---|---|---|")
	for range phases {
		b.WriteString("---|")
	}
	worst := map[string]time.Duration{}
	for _, s := range queryShapes {
		for _, form := range s.forms() {
			var counts []string
			for _, size := range sizes {
				counts = append(counts, strconv.Itoa(rows[fmt.Sprintf("%d runs, after ingest", size)][s.name+"|"+form.label]))
			}
			fmt.Fprintf(&b, "\n| %s | `%s` | %s |", s.name, form.label, strings.Join(counts, " / "))
			for _, p := range phases {
				r := results[p][s.name+"|"+form.label]
				fmt.Fprintf(&b, " %.1f / %.1f / %.1f |", ms(r[0]), ms(r[1]), ms(r[2]))
				if r[1] > worst[p] && s.name != "plain first page" {
					worst[p] = r[1]
				}
			}
		}
	}
	t.Log(b.String())
	for _, p := range phases {
		t.Logf("worst p95 of the matrix, %s: %.1f ms", p, ms(worst[p]))
	}
	last := fmt.Sprintf("%d runs, after ingest", sizes[len(sizes)-1])
	lastRestart := fmt.Sprintf("%d runs, after restart", sizes[len(sizes)-1])
	// Goals are reported, not asserted (docs/benchmarks.md: targets are
	// checked there): a noisy machine must not fail make bench.
	for _, p := range []string{last, lastRestart} {
		if worst[p] > 30*time.Millisecond {
			t.Logf("GOAL MISSED: %s: a shape's p95 is %.1f ms, above 30 ms", p, ms(worst[p]))
		}
	}
	if len(sizes) > 1 {
		for _, when := range []string{"after ingest", "after restart"} {
			first := fmt.Sprintf("%d runs, %s", sizes[0], when)
			end := fmt.Sprintf("%d runs, %s", sizes[len(sizes)-1], when)
			for _, s := range queryShapes {
				for _, form := range s.forms() {
					k := s.name + "|" + form.label
					small, big := results[first][k][1], results[end][k][1]
					if big > 2*small && big > 5*time.Millisecond {
						t.Logf("GOAL MISSED: %s (%s), %s: p95 %.1f ms at %d runs (a page of %d), more than twice %.1f ms at %d (a page of %d)",
							s.name, form.label, when, ms(big), sizes[len(sizes)-1], rows[end][k], ms(small), sizes[0], rows[first][k])
					}
				}
			}
		}
	}
	// The machine's state, for the record.
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average at the end: %s(%d CPUs)", load, runtime.NumCPU())
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// queryShape is one shape of the matrix: the same selection as chips (URL
// parameters project, status, review with a query for the rest) and as
// text (everything in q), with variants (other orders, in or or).
type queryShape struct {
	name  string
	chips string   // URL query with chips, "" if the shape has no chip form
	text  []string // URL queries with everything in q
}

type shapeForm struct{ label, query string }

func (s queryShape) forms() []shapeForm {
	var out []shapeForm
	if s.chips != "" {
		out = append(out, shapeForm{"chips: " + s.chips, s.chips})
	}
	for _, t := range s.text {
		label, _ := url.QueryUnescape(t)
		out = append(out, shapeForm{"text: " + label, t})
	}
	return out
}

func qp(q string) string { return "q=" + url.QueryEscape(q) }

// queryShapes covers every class of issue 18: project, status, review and
// tag conditions; param and metric comparisons and ranges; string
// equality; in and or; not; exists; series summaries; ~ on names (and on
// notes); sorted by creation or by a metric or param; an exact count.
var queryShapes = []queryShape{
	{name: "plain first page", chips: "limit=50"},
	{name: "project and status", chips: "project=p3&status=succeeded",
		text: []string{qp(`project = "p3" and status = "succeeded"`), qp(`status = succeeded and project = p3`)}},
	{name: "project, status, param, sorted by a metric (issue's list)", chips: "project=p3&status=succeeded&" + qp(`params.p1 > 0.5`) + "&sort=-metrics.loss",
		text: []string{qp(`project = "p3" and status = "succeeded" and params.p1 > 0.5`) + "&sort=-metrics.loss",
			qp(`params.p1 > 0.5 and status = succeeded and project = p3`) + "&sort=-metrics.loss"}},
	{name: "param range", text: []string{qp(`params.p1 > 0.5 and params.p1 < 0.51`), qp(`params.p1 < 0.51 and params.p1 > 0.5`)}},
	{name: "param, sorted by a metric", text: []string{qp(`params.p1 > 0.5`) + "&sort=-metrics.loss"}},
	{name: "two params, each loose, together tight", text: []string{qp(`params.p1 > 0.9 and params.p2 < 0.1`)}},
	{name: "string param and metric", text: []string{qp(`params.opt = "adam" and metrics.acc > 0.9`), qp(`metrics.acc > 0.9 and params.opt = adam`)}},
	{name: "name ~", text: []string{qp(`name ~ "run 4242"`)}},
	{name: "in or or, sorted by a metric", text: []string{qp(`project in ("p1", "p2") and metrics.acc > 0.95`) + "&sort=-metrics.acc",
		qp(`(project = p1 or project = p2) and metrics.acc > 0.95`) + "&sort=-metrics.acc"}},
	{name: "not", text: []string{qp(`not params.opt = adam and metrics.loss < 0.1`)}},
	{name: "exists", text: []string{qp(`params.p3 exists and not tag exists and metrics.f1 > 0.99`)}},
	{name: "tag and review", chips: "review=unreviewed&" + qp(`tag = gpu and metrics.loss < 0.05`),
		text: []string{qp(`tag = gpu and review = unreviewed and metrics.loss < 0.05`), qp(`metrics.loss < 0.05 and review = unreviewed and tag = gpu`)}},
	{name: "series summary, sorted by it", text: []string{qp(`min(loss) < 0.1`) + "&sort=min(loss)"}},
	{name: "status in, sorted by a param", chips: "status=failed&sort=params.lr",
		text: []string{qp(`status in (failed, cancelled)`) + "&sort=params.lr", qp(`status = failed or status = cancelled`) + "&sort=params.lr"}},
	{name: "created and status", chips: "status=running&" + qp(`created > -30d`), text: []string{qp(`created > -30d and status = running`)}},
	{name: "int param in a list", text: []string{qp(`params.seed in (1, 2, 3, 500, 999) and metrics.loss < 0.5`),
		qp(`(params.seed = 1 or params.seed = 2 or params.seed = 3 or params.seed = 500 or params.seed = 999) and metrics.loss < 0.5`)}},
	{name: "sorted by creation, oldest first", chips: "project=p7&sort=created", text: []string{qp(`project = p7`) + "&sort=created"}},
	{name: "exact count of a loose query", text: []string{qp(`params.p1 > 0.5`) + "&count=exact", qp(`params.p1 > 0.5 and project = p3`) + "&count=exact"}},
	{name: "notes ~", text: []string{qp(`notes ~ "diverged"`)}},
}

// queryBench is the server under test and its client.
type queryBench struct {
	bin, dir, url string
	cmd           *exec.Cmd
	token         string // API token: runs:read and runs:write
	client        *http.Client
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startQueryBench(t *testing.T, bin string) *queryBench {
	dir := t.TempDir()
	qb := &queryBench{bin: bin, dir: dir, client: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	addr := freePort(t)
	qb.url = "http://" + addr
	env := append(os.Environ(), "LABREVIEW_DATA_DIR="+filepath.Join(dir, "data"), "LABREVIEW_SERVER_ADDR="+addr, "LABREVIEW_LOG_LEVEL=warn")
	create := exec.Command(bin, "user", "create", "--email", "bench@lab.org", "--name", "Bench", "--role", "admin", "--password-stdin", "--config", "/dev/null")
	create.Env, create.Stdin = env, strings.NewReader("a-long-bench-passphrase\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v %s", err, out)
	}
	qb.cmd = exec.Command(bin, "serve", "--config", "/dev/null")
	qb.cmd.Env = env
	qb.start(t)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	qb.call(t, "POST", "/api/auth/login", "", `{"username":"bench@lab.org","password":"a-long-bench-passphrase"}`, 200, &login)
	var tok struct{ Token string }
	qb.call(t, "POST", "/api/tokens", login.AccessToken, `{"name":"bench","scopes":["runs:read","runs:write"]}`, 201, &tok)
	qb.token = tok.Token
	return qb
}

func (qb *queryBench) start(t *testing.T) {
	cmd := exec.Command(qb.cmd.Path, qb.cmd.Args[1:]...)
	cmd.Env, cmd.Stderr = qb.cmd.Env, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	qb.cmd = cmd
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := qb.client.Get(qb.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the server did not become ready")
}

func (qb *queryBench) stop() {
	if qb.cmd != nil && qb.cmd.Process != nil {
		_ = qb.cmd.Process.Signal(os.Interrupt)
		_ = qb.cmd.Wait()
	}
}

func (qb *queryBench) restart(t *testing.T) {
	qb.stop()
	qb.start(t)
}

func (qb *queryBench) call(t *testing.T, method, path, token, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, qb.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Host = "localhost"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := qb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// seed creates runs [from, to) through the API with 16 clients.
func (qb *queryBench) seed(t *testing.T, from, to int) {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || failed.Load() != nil {
					return
				}
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				status := []string{"queued", "running", "succeeded", "failed", "cancelled"}[rng.IntN(5)]
				tags := "[]"
				if i%4 == 0 {
					tags = `["gpu"]`
				}
				notes := ""
				if i%50 == 0 {
					notes = "diverged after warm-up"
				}
				body := fmt.Sprintf(`{"project":"p%d","external_id":"r%d","name":"run %d","status":"%s","tags":%s,"notes":%q,`+
					`"params":{"lr":%g,"p1":%g,"p2":%g,"p3":%g,"seed":%d,"opt":"%s"},"metrics":{"loss":%g,"acc":%g,"f1":%g}}`,
					rng.IntN(10), i, i, status, tags, notes, rng.Float64()/10, rng.Float64(), rng.Float64(), rng.Float64(), rng.IntN(1000),
					[]string{"adam", "sgd", "rmsprop"}[rng.IntN(3)], rng.Float64(), rng.Float64(), rng.Float64())
				id, err := qb.post("/api/runs", body, 201)
				if err == nil && i%10 == 0 {
					var pts []string
					for s := range 10 {
						pts = append(pts, fmt.Sprintf("[%d,%g]", s, rng.Float64()))
					}
					_, err = qb.post("/api/runs/"+id+"/series", `{"loss":[`+strings.Join(pts, ",")+`]}`, 200)
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
}

func (qb *queryBench) post(path, body string, want int) (string, error) {
	req, _ := http.NewRequest("POST", qb.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+qb.token)
	for try := 0; ; try++ {
		req.Body = io.NopCloser(strings.NewReader(body))
		resp, err := qb.client.Do(req)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if (resp.StatusCode == 503 || resp.StatusCode == 429) && try < 20 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if resp.StatusCode != want {
			return "", fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		var out struct{ ID string }
		_ = json.Unmarshal(b, &out)
		return out.ID, nil
	}
}

// measure runs every form of every shape rounds times, one after another
// (the first request of each counts: no warm-up), and returns p50, p95
// and p99.
func (qb *queryBench) measure(t *testing.T, rounds int) (map[string][3]time.Duration, map[string]int) {
	out, rows := map[string][3]time.Duration{}, map[string]int{}
	for _, s := range queryShapes {
		for _, form := range s.forms() {
			var lat []time.Duration
			pageRuns := 0
			for range rounds {
				req, _ := http.NewRequest("GET", qb.url+"/api/runs?limit=50&"+form.query, nil)
				req.Header.Set("Authorization", "Bearer "+qb.token)
				t0 := time.Now()
				resp, err := qb.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var page struct {
					Runs []json.RawMessage
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil {
					t.Fatalf("%s: %d %s", form.query, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
				}
				lat = append(lat, d)
				pageRuns = len(page.Runs)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			at := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1)+0.5)] }
			out[s.name+"|"+form.label] = [3]time.Duration{at(0.5), at(0.95), at(0.99)}
			rows[s.name+"|"+form.label] = pageRuns
		}
	}
	return out, rows
}
