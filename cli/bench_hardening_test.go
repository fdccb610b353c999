package cli

// Benchmarks of issue 16's bounds against real server processes (load
// from this process): the binary under test is $BIN (default: this test
// binary run as labreview), and $COMPARE, when set, a baseline binary run
// through the same load in the same run (e.g. one built from 5004d06).
//
//	BIN=$PWD/bin/labreview COMPARE=/tmp/labreview-5004d06 \
//	  go test -run '^$' -bench 'SeriesReadsWorstCase|RunCreatesWAL' -benchtime 1x ./cli/

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"labreview/db/sqlite"
)

// benchBinaries are the binaries to measure, by label.
func benchBinaries() [][2]string {
	out := [][2]string{{"this", os.Getenv("BIN")}}
	if c := os.Getenv("COMPARE"); c != "" {
		out = append(out, [2]string{"baseline", c})
	}
	return out
}

// benchServer starts bin (or this test binary as labreview when bin is
// "") on a fresh data folder with an account of role, and returns it with
// that account's access token.
func benchServer(b *testing.B, bin, role string) (*process, string, string) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "data")
	env := []string{"LABREVIEW_DATA_DIR=" + dir, "LABREVIEW_SERVER_ADDR=127.0.0.1:0", "LABREVIEW_LOG_FORMAT=json"}
	for k, v := range durabilityEnv {
		env = append(env, k+"="+v)
	}
	command := func(args ...string) *exec.Cmd {
		if bin == "" {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(append(os.Environ(), env...), "LABREVIEW_TEST_EXEC_MAIN=1", "LABREVIEW_TEST_ARGS="+strings.Join(args, " "))
			return cmd
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		return cmd
	}
	create := command("user", "create", "--email", "bench@lab.org", "--name", "Bench", "--role", role, "--password-stdin", "--config", "/dev/null")
	create.Stdin = strings.NewReader(durabilityPassword + "\n")
	if out, err := create.CombinedOutput(); err != nil {
		b.Fatalf("user create: %v %s", err, out)
	}
	cmd := command("serve", "--config", "/dev/null")
	p := &process{cmd: cmd, logs: newLogSink(), done: make(chan error, 1)}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	b.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	select {
	case addr := <-p.logs.addr:
		p.base = "http://" + addr
	case <-time.After(30 * time.Second):
		b.Fatalf("the server did not listen:\n%s", p.logs)
	}
	var c *client
	var err error
	for range 100 {
		if c, err = p.login("bench@lab.org", durabilityPassword); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		b.Fatal(err)
	}
	return p, dir, c.access
}

// quantiles gives p50, p95 and p99 of durations.
func quantiles(d []time.Duration) (p50, p95, p99 time.Duration) {
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return at(0.50), at(0.95), at(0.99)
}

// BenchmarkSeriesReadsWorstCase: 8 clients read the worst case of the
// probe at once, 5 rounds: the 20 series of 100,000 points of one run at
// max_points=100000. Latency per read, reads/s, answer size and the
// server's peak RSS.
func BenchmarkSeriesReadsWorstCase(b *testing.B) {
	for _, bin := range benchBinaries() {
		b.Run(bin[0], func(b *testing.B) {
			p, _, token := benchServer(b, bin[1], "reviewer")
			ctx := context.Background()
			code, body, err := call(ctx, "POST", p.base+"/api/runs", token, []byte(`{"project":"mem","external_id":"big"}`))
			if err != nil || code != 201 {
				b.Fatalf("create: %d %s %v", code, body, err)
			}
			var run struct{ ID string }
			_ = json.Unmarshal(body, &run)
			var names []string
			for i := range 20 {
				name := fmt.Sprintf("s%02d", i)
				names = append(names, name)
				var sb strings.Builder
				fmt.Fprintf(&sb, `{%q:[`, name)
				for step := range 100_000 {
					if step > 0 {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, "[%d,%g]", step, float64(step%997)/997+float64(i))
				}
				sb.WriteString("]}")
				if code, body, err := call(ctx, "POST", p.base+"/api/runs/"+run.ID+"/series", token, []byte(sb.String())); err != nil || code != 200 {
					b.Fatalf("series: %d %s %v", code, body, err)
				}
			}
			q := "max_points=100000&names=" + strings.Join(names, ",")
			var mu sync.Mutex
			var lat []time.Duration
			var bytes int
			start := time.Now()
			for range 5 {
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						t0 := time.Now()
						code, body, err := call(ctx, "GET", p.base+"/api/runs/"+run.ID+"/series?"+q, token, nil)
						d := time.Since(t0)
						if err != nil || code != 200 {
							b.Errorf("read: %d %v", code, err)
						}
						mu.Lock()
						lat, bytes = append(lat, d), len(body)
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			elapsed := time.Since(start)
			p50, p95, p99 := quantiles(lat)
			b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
			b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
			b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "reads/s")
			b.ReportMetric(float64(bytes)/(1<<20), "answer-MiB")
			b.ReportMetric(float64(peakRSS(b, p.cmd.Process.Pid)>>20), "peak-RSS-MiB")
		})
	}
}

// BenchmarkRunCreatesWAL: 4 clients create runs with 20 params of 400
// bytes flat out while 2 read run pages, for 10 s: creates/s, their
// latency and the WAL's peak size (sampled every 5 ms), at the default
// WAL bound.
func BenchmarkRunCreatesWAL(b *testing.B) {
	for _, bin := range benchBinaries() {
		b.Run(bin[0], func(b *testing.B) {
			p, dir, token := benchServer(b, bin[1], "reviewer")
			params := map[string]string{}
			for i := range 20 {
				params[fmt.Sprintf("p%02d", i)] = strings.Repeat("x", 400)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						body, _ := json.Marshal(map[string]any{"project": "wal", "external_id": fmt.Sprintf("w%d-%d", w, i), "params": params})
						t0 := time.Now()
						code, _, err := call(ctx, "POST", p.base+"/api/runs", token, body)
						if err == nil && code == 201 {
							mu.Lock()
							lat = append(lat, time.Since(t0))
							mu.Unlock()
						}
					}
				})
			}
			for range 2 {
				wg.Go(func() {
					for ctx.Err() == nil {
						_, _, _ = call(ctx, "GET", p.base+"/api/runs?project=wal&limit=20", token, nil)
					}
				})
			}
			var peak int64
			for ctx.Err() == nil {
				if info, err := os.Stat(filepath.Join(dir, sqlite.FileName+"-wal")); err == nil {
					peak = max(peak, info.Size())
				}
				time.Sleep(5 * time.Millisecond)
			}
			wg.Wait()
			p50, p95, p99 := quantiles(lat)
			b.ReportMetric(float64(len(lat))/10, "creates/s")
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(peak)/(1<<20), "WAL-peak-MiB")
		})
	}
}
