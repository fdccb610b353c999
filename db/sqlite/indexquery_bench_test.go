package sqlite

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/query"
)

// BenchmarkIndexPage times the query index alone (no HTTP, no SQLite) on
// the data of server/bench_query_test.go, at 10,000 and 100,000 runs: a
// page of 50 for each shape. The end-to-end figures of issue 18 come from
// that benchmark; this one shows which part of a query grows with the
// runs. Run:
//
//	go test -run '^$' -bench IndexPage ./db/sqlite/
func BenchmarkIndexPage(b *testing.B) {
	shapes := []struct {
		name string
		f    db.RunFilter
		q    string
	}{
		{"plain", db.RunFilter{}, ""},
		{"chips-project-status", db.RunFilter{Project: "p3", Status: "succeeded"}, ""},
		{"text-project-status", db.RunFilter{}, `project = "p3" and status = "succeeded"`},
		{"text-proj-status-param-sort", db.RunFilter{SortKey: db.KeyMetric + "loss", SortDesc: true}, `project = "p3" and status = "succeeded" and params.p1 > 0.5`},
		{"param-range", db.RunFilter{}, `params.p1 > 0.5 and params.p1 < 0.51`},
		{"param-sorted", db.RunFilter{SortKey: db.KeyMetric + "loss", SortDesc: true}, `params.p1 > 0.5`},
		{"two-params", db.RunFilter{}, `params.p1 > 0.9 and params.p2 < 0.1`},
		{"string-param-metric", db.RunFilter{}, `params.opt = "adam" and metrics.acc > 0.9`},
		{"name-contains", db.RunFilter{}, `name ~ "run 4242"`},
		{"in-sorted", db.RunFilter{SortKey: db.KeyMetric + "acc", SortDesc: true}, `project in ("p1", "p2") and metrics.acc > 0.95`},
		{"tag-review", db.RunFilter{}, `tag = gpu and review = unreviewed and metrics.loss < 0.05`},
		{"status-in-sort-param", db.RunFilter{SortKey: db.KeyParam + "lr"}, `status in (failed, cancelled)`},
		{"seed-in", db.RunFilter{}, `params.seed in (1, 2, 3, 500, 999) and metrics.loss < 0.5`},
		{"seed-or", db.RunFilter{}, `(params.seed = 1 or params.seed = 2 or params.seed = 3 or params.seed = 500 or params.seed = 999) and metrics.loss < 0.5`},
		{"project-sort-created", db.RunFilter{SortKey: db.KeyCreated}, `project = p7`},
		{"notes-contains", db.RunFilter{}, `notes ~ "diverged"`},
	}
	for _, size := range []int{10_000, 100_000} {
		ix := benchIndex(size)
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%d", s.name, size), func(b *testing.B) {
				f := s.f
				if s.q != "" {
					n, err := query.Parse(s.q, time.Now())
					if err != nil {
						b.Fatal(err)
					}
					f.Query = n
				}
				for b.Loop() {
					e, err := newEvaluator(ix, f)
					if err != nil {
						b.Fatal(err)
					}
					ix.page(e, 50)
				}
			})
		}
	}
}

// benchIndex builds an index of n runs as the query benchmark seeds them.
func benchIndex(n int) *runIndex {
	ix := newRunIndex()
	ix.grow(n)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		r := &db.Run{ID: fmt.Sprintf("%012d", i), Project: fmt.Sprintf("p%d", rng.IntN(10)), Name: fmt.Sprintf("run %d", i),
			Status: []string{"queued", "running", "succeeded", "failed", "cancelled"}[rng.IntN(5)], Tags: []string{},
			CreatedAt: at.Add(time.Duration(i) * time.Second), Review: db.RunReview{State: db.ReviewUnreviewed}}
		if i%4 == 0 {
			r.Tags = []string{"gpu"}
		}
		if i%50 == 0 {
			r.Notes = "diverged after warm-up"
		}
		r.Params = db.Params{"lr": rng.Float64() / 10, "p1": rng.Float64(), "p2": rng.Float64(), "p3": rng.Float64(),
			"seed": int64(rng.IntN(1000)), "opt": []string{"adam", "sgd", "rmsprop"}[rng.IntN(3)]}
		r.Metrics = db.Metrics{"loss": rng.Float64(), "acc": rng.Float64(), "f1": rng.Float64()}
		ix.put(r, nil)
	}
	return ix
}
