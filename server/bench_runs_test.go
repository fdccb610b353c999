package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/db"
)

// runsBench is the real handler on a fresh embedded database with a
// reviewer, their runs:read+write API token and a signed-in viewer.
type runsBench struct {
	ts     *httptest.Server
	store  db.Store
	token  string // API token of the reviewer
	access string // access token of the viewer (bench@lab.org)
}

func newRunsBench(b *testing.B) *runsBench {
	b.Helper()
	ts, store := benchServer(b, testAuthConfig())
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc, err := auth.New(context.Background(), testAuthConfig(), store, logger, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	rev, err := svc.CreateUser(context.Background(), "", auth.NewUser{Email: "rev@lab.org", Name: "Rev", Role: db.RoleReviewer, Password: reviewerPW}, auth.ClientInfo{})
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := svc.CreateAPIToken(context.Background(), &auth.Principal{UserID: rev.ID, Role: rev.Role},
		auth.TokenRequest{Name: "bench", Scopes: []string{auth.ScopeRunsRead, auth.ScopeRunsWrite}}, auth.ClientInfo{})
	if err != nil {
		b.Fatal(err)
	}
	access, _ := benchLogin(b, ts.URL)
	return &runsBench{ts: ts, store: store, token: secret, access: access}
}

func (rb *runsBench) req(base, method, path string, body []byte) *http.Request {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+rb.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// fetch sends one request and returns the body.
func fetch(b *testing.B, req *http.Request, status int) []byte {
	b.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		b.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return body
}

// bareServer answers every request with the same bytes and status after
// reading the body: the baseline of HTTP, Gin and the same bytes on the
// wire, with no work.
func bareServer(b *testing.B, status int, answer []byte) *httptest.Server {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Any("/*path", func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		c.Data(status, "application/json", answer)
	})
	ts := httptest.NewServer(e)
	b.Cleanup(ts.Close)
	return ts
}

// BenchmarkRunCreate: run creates per second through the API with an API
// token (64 clients, every create a new external id), beside a bare Gin
// handler that reads the same bodies and answers the same bytes.
func BenchmarkRunCreate(b *testing.B) {
	rb := newRunsBench(b)
	var n atomic.Int64
	body := func() []byte {
		i := n.Add(1)
		return []byte(fmt.Sprintf(`{"project":"sweep-%d","external_id":"job-%d","status":"running","host":"node-1",`+
			`"params":{"lr":0.001,"layers":[64,64],"seed":%d},"metrics":{"loss":0.5}}`, i%20, i, i))
	}
	answer := fetch(b, rb.req(rb.ts.URL, "POST", "/api/runs", body()), http.StatusCreated)
	bare := bareServer(b, http.StatusCreated, answer)
	for _, target := range []struct{ name, base string }{{"labreview", rb.ts.URL}, {"bare-gin-same-bytes", bare.URL}} {
		b.Run(target.name, func(b *testing.B) {
			loadWithStatus(b, 32, http.StatusCreated, func() *http.Request { return rb.req(target.base, "POST", "/api/runs", body()) })
		})
	}
}

// seriesBody writes a batch of points [from, from+n) of one series.
func seriesBody(name string, from, n int64) []byte {
	b := make([]byte, 0, n*28)
	b = append(b, `{"`...)
	b = append(b, name...)
	b = append(b, `":[`...)
	for s := from; s < from+n; s++ {
		if s > from {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, s, 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, 1/float64(s+1)+float64(s%97)*1e-4, 'g', -1, 64)
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

// BenchmarkSeriesIngest: points per second through the API in batches of
// 10,000 (8 jobs, each appending to its own run), beside the bare handler
// reading the same bodies. Bodies are made before the clock starts.
func BenchmarkSeriesIngest(b *testing.B) {
	rb := newRunsBench(b)
	const batch, jobs = 10_000, 8
	var ids []string
	for j := range jobs {
		var out struct{ ID string }
		mustJSONB(b, fetch(b, rb.req(rb.ts.URL, "POST", "/api/runs", []byte(fmt.Sprintf(`{"project":"ingest","external_id":"job-%d"}`, j))), http.StatusCreated), &out)
		ids = append(ids, out.ID)
	}
	answer := fetch(b, rb.req(rb.ts.URL, "POST", "/api/runs/"+ids[0]+"/series", seriesBody("warmup", 0, batch)), http.StatusOK)
	bare := bareServer(b, http.StatusOK, answer)
	for _, target := range []struct{ name, base string }{{"labreview", rb.ts.URL}, {"bare-gin-same-bytes", bare.URL}} {
		b.Run(target.name, func(b *testing.B) {
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = seriesBody("loss", int64(i/jobs)*batch, batch)
			}
			var next atomic.Int64
			start := time.Now()
			loadWithStatus(b, jobs/2, http.StatusOK, func() *http.Request {
				i := next.Add(1) - 1
				return rb.req(target.base, "POST", "/api/runs/"+ids[i%jobs]+"/series", bodies[i])
			})
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "points/s")
		})
	}
}

// BenchmarkSeriesRead: a 1,000,000-point series read at max_points=2000,
// one client at a time (the latency a user waits for) and 8 at once,
// beside the bare handler writing the same answer.
func BenchmarkSeriesRead(b *testing.B) {
	rb := newRunsBench(b)
	var out struct{ ID string }
	mustJSONB(b, fetch(b, rb.req(rb.ts.URL, "POST", "/api/runs", []byte(`{"project":"long","external_id":"1m"}`)), http.StatusCreated), &out)
	for from := int64(0); from < 1_000_000; from += 100_000 {
		pts := make([]db.Point, 100_000)
		clock := make([]db.Point, 100_000)
		for i := range pts {
			s := from + int64(i)
			pts[i] = db.Point{Step: s, Value: 1/float64(s+1) + float64(s%97)*1e-4}
			clock[i] = db.Point{Step: s, Value: 1.7e9 + float64(s)/10}
		}
		if _, err := rb.store.WriteSeries(context.Background(), out.ID, map[string][]db.Point{"loss": pts, db.ClockSeries: clock}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	// The step axis, then the time axis (x=time: the clock read too).
	for _, axis := range []string{"step", "time"} {
		path := "/api/runs/" + out.ID + "/series?names=loss&max_points=2000&x=" + axis
		answer := fetch(b, rb.req(rb.ts.URL, "GET", path, nil), http.StatusOK)
		bare := bareServer(b, http.StatusOK, answer)
		for _, target := range []struct{ name, base string }{{"labreview", rb.ts.URL}, {"bare-gin-same-bytes", bare.URL}} {
			for _, clients := range []int{1, 8} {
				b.Run(fmt.Sprintf("x=%s/%s/clients=%d", axis, target.name, clients), func(b *testing.B) {
					loadFixed(b, clients, func() *http.Request { return rb.req(target.base, "GET", path, nil) })
				})
			}
		}
	}
}

// BenchmarkRunsList: GET /api/runs filtered by project and status, a page
// of 50, with 10,000 and with 100,000 runs in the database.
func BenchmarkRunsList(b *testing.B) {
	for _, total := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("runs=%d", total), func(b *testing.B) {
			rb := newRunsBench(b)
			seedRuns(b, rb.store, total)
			// As a running server has after its first minutes: planner
			// statistics (sqlite.Store optimizes 30 s after opening).
			if o, ok := rb.store.(interface{ Optimize(context.Context) error }); ok {
				if err := o.Optimize(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			for _, l := range []struct{ name, path string }{
				{"project+status", "/api/runs?project=sweep-7&status=succeeded&limit=50"},
				// The figure: project, status and a param
				// comparison, sorted by a metric.
				{"project+status+param,sort=metric", "/api/runs?project=sweep-7&status=succeeded&limit=50&sort=-metrics.loss&q=" +
					url.QueryEscape("params.lr < 0.05")},
			} {
				for _, clients := range []int{1, 8} {
					b.Run(fmt.Sprintf("%s/clients=%d", l.name, clients), func(b *testing.B) {
						loadFixed(b, clients, func() *http.Request { return rb.req(rb.ts.URL, "GET", l.path, nil) })
					})
				}
			}
		})
	}
}

// seedRuns stores n runs in 50 projects with three statuses, through the
// store (8 writers, so the group commit batches them).
func seedRuns(b *testing.B, store db.Store, n int) {
	b.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	now := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				r := &db.Run{ID: db.NewID(), Project: fmt.Sprintf("sweep-%d", i%50), ExternalID: strconv.FormatInt(i, 10),
					Name: "run", Status: []string{db.StatusSucceeded, db.StatusFailed, db.StatusRunning}[i%3],
					Params:  map[string]any{"lr": float64(i%100) / 1000, "layers": []any{int64(64), int64(64)}, "seed": i},
					Metrics: db.Metrics{"loss": float64(i%1000) / 1000}, Tags: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
				if _, _, err := store.CreateRun(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// loadFixed runs exactly clients concurrent keep-alive clients, each
// answer 200.
func loadFixed(b *testing.B, clients int, newReq func() *http.Request) {
	loadClients(b, clients, http.StatusOK, newReq)
}

// BenchmarkMeDuringIngest: GET /api/me latency from 4 clients while 4
// jobs append 10,000-point batches as fast as they can, beside the same
// load with the jobs idle.
func BenchmarkMeDuringIngest(b *testing.B) {
	rb := newRunsBench(b)
	var ids []string
	for j := range 4 {
		var out struct{ ID string }
		mustJSONB(b, fetch(b, rb.req(rb.ts.URL, "POST", "/api/runs", []byte(fmt.Sprintf(`{"project":"ingest","external_id":"job-%d"}`, j))), http.StatusCreated), &out)
		ids = append(ids, out.ID)
	}
	me := func() *http.Request {
		req, _ := http.NewRequest("GET", rb.ts.URL+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+rb.access)
		return req
	}
	// The jobs' bodies are made before the clock starts (fresh steps for
	// about 8 s of ingest, then the same batches again).
	const perJob = 300
	bodies := make([][][]byte, len(ids))
	for j := range ids {
		for k := range perJob {
			bodies[j] = append(bodies[j], seriesBody("loss", int64(k)*10_000, 10_000))
		}
	}
	b.Run("idle", func(b *testing.B) { loadFixed(b, 4, me) })
	b.Run("during-ingest", func(b *testing.B) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var points atomic.Int64
		for j := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Transport: &http.Transport{}}
				for k := int64(0); ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := client.Do(rb.req(rb.ts.URL, "POST", "/api/runs/"+ids[j]+"/series", bodies[j][k%perJob]))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					points.Add(10_000)
				}
			}()
		}
		time.Sleep(300 * time.Millisecond) // ingest at full speed first
		t0, p0 := time.Now(), points.Load()
		loadFixed(b, 4, me)
		b.ReportMetric(float64(points.Load()-p0)/time.Since(t0).Seconds(), "ingest-points/s")
		close(stop)
		wg.Wait()
	})
}

func mustJSONB(b *testing.B, body []byte, v any) {
	b.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		b.Fatalf("%v: %s", err, body)
	}
}
