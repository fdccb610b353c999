package sqlite

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"labreview/db"
)

// TestRawCreateRate is the raw SQLite baseline of .ci/bench-ingest.sh: the
// transaction a run create commits (createRunTx: the run, its query values
// and names, its project's counters) and the create's audit event, run
// directly on the writer connection, one after another: no HTTP, no
// service, no write queue. It prints the rate with one commit per create
// and with 64 creates per commit (the most group commit can gain), on a
// fresh file and after LABREVIEW_RAW_SEED runs. Skipped unless
// LABREVIEW_RAW_CREATES (the creates to time) is set.
func TestRawCreateRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LABREVIEW_RAW_CREATES"))
	if n <= 0 {
		t.Skip("LABREVIEW_RAW_CREATES not set: run .ci/bench-ingest.sh")
	}
	seed, _ := strconv.Atoi(os.Getenv("LABREVIEW_RAW_SEED"))
	s, err := Open(context.Background(), Options{DataDir: t.TempDir(), Server: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	// The statements are prepared as the server has them after its first
	// creates: one create through the store.
	if _, _, err := s.CreateRun(ctx, rawRun(0)); err != nil {
		t.Fatal(err)
	}
	next := 1
	run := func(count, perCommit int) []time.Duration {
		var lat []time.Duration
		for done := 0; done < count; {
			start := time.Now()
			tx, err := s.w.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < perCommit && done < count; i++ {
				r := rawRun(next)
				next++
				done++
				args, err := runArgs(r)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.createRunTx(ctx, tx, r, args); err != nil {
					t.Fatal(err)
				}
				e := &db.AuditEvent{ID: db.NewID(), At: r.CreatedAt, Event: "run_created", ActorID: r.CreatedBy,
					Details: map[string]any{"run_id": r.ID, "project": r.Project, "after": map[string]any{"external_id": r.ExternalID,
						"name": r.Name, "status": r.Status, "params_keys": float64(len(r.Params)), "metrics": map[string]any{"loss": 0.5, "acc": 0.9, "f1": 0.8}}}}
				aargs, err := auditArgs(e)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.txExec(ctx, tx, insertAuditSQL, aargs...); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		return lat
	}
	report := func(label string, perCommit int) {
		start := time.Now()
		lat := run(n, perCommit)
		took := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
		fmt.Printf("raw SQLite, %s, %d per commit: %.0f creates/s; per commit p50 %s p99 %s\n", label, perCommit,
			float64(n)/took.Seconds(), q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond))
	}
	report("fresh file", 1)
	report("fresh file", 64)
	if seed > 0 {
		run(seed-next, 256)
		report(fmt.Sprintf("at %d runs", next), 1)
		report(fmt.Sprintf("at %d runs", next), 64)
	}
}

// rawRun is a run as the load of .ci/wrk/create-runs.lua sends it.
func rawRun(n int) *db.Run {
	now := time.Now().UTC()
	return &db.Run{ID: db.NewID(), Project: fmt.Sprintf("sweep-%d", n%10), ExternalID: fmt.Sprintf("raw-%d", n),
		Name: fmt.Sprintf("raw-%d", n), Status: db.StatusRunning, Host: fmt.Sprintf("node-%03d", n%128), JobID: strconv.Itoa(4000000 + n),
		CreatedBy: "6b0a00000000000000000001", CreatedByToken: "6b0a00000000000000000002", CreatedAt: now, UpdatedAt: now,
		StartedAt: &now, HeartbeatAt: &now, Version: 1, DataVersion: 1, Tags: []string{},
		Params: map[string]any{"lr": 0.1 / float64(1+n%97), "batch": int64(32 * (1 + n%8)), "epochs": int64(10 + n%90),
			"optimizer": "adamw", "momentum": 0.9, "weight_decay": 1e-4 * float64(n%13), "dropout": float64(n%5) / 10,
			"seed": int64(n), "layers": []any{int64(512), int64(256), int64(64 + n%64)},
			"scheduler": map[string]any{"name": "cosine", "warmup": int64(100 * (n % 10))}},
		Metrics: db.Metrics{"loss": 1 / float64(1+n%1009), "acc": 0.5 + float64(n%499)/1000, "f1": 0.4 + float64(n%587)/1000}}
}

// TestRawSeriesRate is the store baseline of the series part of
// .ci/bench-ingest.sh: 8 goroutines, each appending 10,000-point batches
// of new steps to a run of its own through WriteSeries, with the run's
// clock as the server writes it (no HTTP, no JSON). Skipped unless
// LABREVIEW_RAW_SERIES (the batches to time) is set.
func TestRawSeriesRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LABREVIEW_RAW_SERIES"))
	if n <= 0 {
		t.Skip("LABREVIEW_RAW_SERIES not set: run .ci/bench-ingest.sh")
	}
	s, err := Open(context.Background(), Options{DataDir: t.TempDir(), Server: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	const jobs, batch = 8, 10_000
	var ids []string
	for j := range jobs {
		r, _, err := s.CreateRun(ctx, rawRun(j))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	errs := make(chan error, jobs)
	start := time.Now()
	for j := range jobs {
		go func() {
			for i := range work {
				w := int64(i / jobs)
				pts := make([]db.Point, batch)
				clock := make([]db.Point, batch)
				for k := range pts {
					step := w*batch + int64(k)
					pts[k] = db.Point{Step: step, Value: 2 / (1 + float64(step)/1000)}
					clock[k] = db.Point{Step: step, Value: 1764432000 + float64(step)/100}
				}
				if _, err := s.WriteSeries(ctx, ids[j], map[string][]db.Point{"train/loss": pts, db.ClockSeries: clock}, time.Now()); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range jobs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	fmt.Printf("raw SQLite (the store's WriteSeries, no HTTP), %d goroutines: %.0f points/s (%d batches of %d in %s)\n",
		jobs, float64(n*batch)/took.Seconds(), n, batch, took.Round(time.Millisecond))
}
