package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkInstanceCPU measures what one labreview process spends per
// request, in CPU time read from /proc (user + system), for the requests
// of a browser session and of a job, on each store. Requests per second
// against the FerretDB stand-in say nothing about a hosted MongoDB (the
// stand-in scans collections and runs one command at a time); the CPU an
// instance spends per request is what sizes a fleet (docs/scaling.md).
// The load comes from this process, one request at a time.
//
//	go test -run '^$' -bench InstanceCPU -benchtime 100x -timeout 30m ./cli/clustertest/
func BenchmarkInstanceCPU(b *testing.B) {
	for _, mode := range []string{"hosted", "embedded"} {
		b.Run(mode, func(b *testing.B) {
			var srv *server
			var env []string
			if mode == "hosted" {
				st := startStore(b)
				createAdminB(b, []string{"LABREVIEW_MONGODB_URI=" + st.uri, "LABREVIEW_MONGODB_DATABASE=cpu"})
				env = hostedEnv(st, "cpu")
			} else {
				dir := filepath.Join(b.TempDir(), "data")
				createAdminB(b, []string{"LABREVIEW_DATA_DIR=" + dir})
				env = []string{"LABREVIEW_DATA_DIR=" + dir}
			}
			env = append(env, "LABREVIEW_AUTH_REFRESH_PER_MINUTE=0", "LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_ACCOUNT=1000000")
			srv = startServer(b, mode, env)
			admin, r := login(quick, srv.base, "admin@lab.test", password)
			if r.status != 200 {
				b.Fatal(r)
			}
			tok := createTokenB(b, srv.base, admin)
			// 200 runs of a project; one with a 20,000-point series (the
			// stand-in reads every chunk document of the collection for
			// any query but an _id lookup, so longer series make the run
			// long without telling more about the instance).
			var runID string
			for i := range 200 {
				var run struct{ ID string }
				r := do(quick, "POST", srv.base+"/api/runs", withJSON(tok), jsonBody(map[string]any{
					"project": "cpu", "external_id": fmt.Sprint("run-", i), "status": "succeeded",
					"params": map[string]any{"lr": 0.001 * float64(i), "batch": 64}, "metrics": map[string]any{"loss": 1 / float64(i+1)}}))
				if r.status != 201 {
					b.Fatal(r)
				}
				mustDecode(r, &run)
				runID = run.ID
			}
			for from := 0; from < 20_000; from += 10_000 {
				if r := appendPoints(quick, srv.base, tok, runID, "loss", from, from+10_000); r.status != 200 {
					b.Fatal(r)
				}
			}
			step := 20_000
			s := admin
			classes := []struct {
				name string
				call func() result
			}{
				{"me", func() result { return do(quick, "GET", srv.base+"/api/me", bearer(s.access), nil) }},
				{"list50", func() result {
					return do(quick, "GET", srv.base+"/api/runs?limit=50&project=cpu", bearer(s.access), nil)
				}},
				{"query", func() result {
					return do(quick, "GET", srv.base+"/api/runs?limit=50&q=params.lr%20%3E%200.05", bearer(s.access), nil)
				}},
				{"run", func() result { return do(quick, "GET", srv.base+"/api/runs/"+runID, bearer(s.access), nil) }},
				{"series2000of20k", func() result {
					return do(quick, "GET", srv.base+"/api/runs/"+runID+"/series?max_points=2000", bearer(s.access), nil)
				}},
				{"append100", func() result {
					step += 100
					return appendPoints(quick, srv.base, tok, runID, "loss", step-100, step)
				}},
				{"refresh", func() result {
					next, r := refresh(quick, srv.base, s)
					s = next
					return r
				}},
				{"signin", func() result {
					_, r := login(quick, srv.base, "admin@lab.test", password)
					return r
				}},
			}
			// What the process spends idle (the driver's monitors, the
			// sweeps, the collector) is taken off each figure in
			// proportion to the time the requests took.
			idle0, _ := cpuSeconds(srv.pid())
			idleFrom := time.Now()
			time.Sleep(5 * time.Second)
			idle1, _ := cpuSeconds(srv.pid())
			idleRate := (idle1 - idle0) / time.Since(idleFrom).Seconds()
			b.Logf("%s: idle CPU %.2f%% of a core", mode, idleRate*100)
			for _, c := range classes {
				b.Run(c.name, func(b *testing.B) {
					if r := c.call(); !ok2xx(r) {
						b.Fatal(r)
					}
					cpu0, _ := cpuSeconds(srv.pid())
					began := time.Now()
					b.ResetTimer()
					for range b.N {
						if r := c.call(); !ok2xx(r) {
							b.Fatal(r)
						}
					}
					b.StopTimer()
					cpu1, _ := cpuSeconds(srv.pid())
					busy := cpu1 - cpu0 - idleRate*time.Since(began).Seconds()
					b.ReportMetric(max(busy, 0)/float64(b.N)*1e6, "cpu-µs/req")
				})
			}
		})
	}
}

// Benchmark twins of helpers that take *testing.T.

func createAdminB(b *testing.B, env []string) {
	b.Helper()
	cmd := exec.Command(bins.labreview, "user", "create", "--email", "admin@lab.test", "--name", "Admin", "--role", "admin", "--password-stdin")
	cmd.Env = append(append(os.Environ(), "LABREVIEW_DATA_DIR="+filepath.Join(b.TempDir(), "cli")), env...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("user create: %v\n%s", err, out)
	}
}

func createTokenB(b *testing.B, base string, s session) string {
	r := do(quick, "POST", base+"/api/tokens", withJSON(s.access),
		jsonBody(map[string]any{"name": "cpu", "scopes": []string{"runs:read", "runs:write"}}))
	var tok struct{ Token string }
	if r.status != 201 {
		b.Fatal(r)
	}
	mustDecode(r, &tok)
	return tok.Token
}
