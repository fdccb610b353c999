package sqlite

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/query"
)

// TestValueSetsAgreeWithRunTests checks the index's fast ways to a set of
// runs (value sets, name trigrams, tight scans of numbers, tests of only
// the runs still in) against the plain test of each run, for queries of
// every field and operator, on runs that were moved between projects,
// statuses and verdicts, retagged, renamed and deleted.
func TestValueSetsAgreeWithRunTests(t *testing.T) {
	ix, at := mixedIndex()
	now := at.Add(time.Hour)
	queries := []string{
		`project = p1`, `project in (p1, p3)`, `project != p2`, `project = nothing`, `not project = p0`,
		`status = failed`, `status in (queued, failed)`, `status = running`, `status = stale`, `status != succeeded`,
		`review = approved`, `review in (unreviewed, rejected)`, `review = outdated`, `review != approved`,
		`tag = gpu`, `tag in (cpu, big)`, `tag != gpu`, `tag exists`, `not tag exists`, `tag ~ "pu"`,
		`name ~ "run 1"`, `name ~ "RUN_2"`, `name ~ "ab"`, `name ~ "g big"`, `name ~ "zzz"`, `name = "ab"`, `name ~ "sweep-29"`,
		`params.p1 > 0.5`, `params.p1 >= 0.5 and params.p1 < 0.6`, `params.p1 <= 0.1`, `params.p1 = "text"`, `params.p1 != 0.5`,
		`params.seed in (1, 2, 3)`, `params.seed = 4 or params.seed = 5`, `params.seed = 7`, `params.p1 exists`,
		`metrics.loss > 0.5`, `metrics.loss < inf`, `metrics.loss >= inf`, `metrics.loss <= -inf`, `metrics.loss > -inf`,
		`metrics.loss >= 0.5`, `metrics.loss <= 0.5`, `metrics.loss < 0.5`, `params.seed >= 7`, `params.seed <= 7`, `params.seed > 7`, `params.seed < 7`,
		`metrics.loss = nan`, `metrics.loss != nan`, `metrics.loss = 0.5`, `metrics.loss in (0.5, inf)`,
		`notes ~ "diverged"`, `notes exists`, `not notes exists`, `notes = fine`, `notes != fine`, `notes = ""`, `notes ~ "high" or tag = big`,
		`project = p1 and status = failed and params.p1 > 0.2`, `params.seed = 3 or (tag = gpu and params.seed = 4) or not status = queued`,
		`(params.seed = 1 or params.seed = 2.5 or params.p1 = "text" or metrics.loss = nan) and not (project = p0 or name ~ "9")`, `(tag = gpu or review = approved) and not status = queued`,
		`project = p2 and name ~ "run"`, `started exists and status in (running, failed)`, `not (params.opt = adam and tag = gpu)`,
	}
	filters := []db.RunFilter{{}, {Project: "p1"}, {Status: "running", StaleBefore: at.Add(30 * time.Minute)}, {Review: db.ReviewOutdated},
		{Deleted: true}, {Projects: []string{"p0", "p3"}, Review: db.ReviewApproved}}
	for _, src := range append([]string{""}, queries...) {
		for _, f := range filters {
			if src != "" {
				n, err := query.Parse(src, now)
				if err != nil {
					t.Fatalf("%s: %v", src, err)
				}
				f.Query, f.QueryNow, f.QueryStaleBefore = n, now, at.Add(30*time.Minute)
			}
			e, err := newEvaluator(ix, f)
			if err != nil {
				t.Fatal(err)
			}
			got, want := e.filter(), newBits(e.n)
			for i := range int32(e.n) {
				if e.test(i) {
					want.set(i)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%q with %+v: the sets select %d runs, a test of each %d", src, f, got.count(), want.count())
			}
			if want.count() == 0 && src == "" && !f.Deleted && f.Project == "" {
				t.Errorf("%+v selects no run: the data does not exercise it", f)
			}
		}
	}
}

// mixedIndex is an index of 3,000 runs of every kind of value, then 2,000
// rewrites that move runs between projects, statuses, verdicts and tags,
// rename, annotate and delete them.
func mixedIndex() (*runIndex, time.Time) {
	ix := newRunIndex()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	runs := map[int]*db.Run{}
	write := func(i int, rng *rand.Rand) {
		r := &db.Run{ID: fmt.Sprintf("%08d", i), Project: fmt.Sprintf("p%d", rng.IntN(4)),
			Name:   []string{"Run %d", "run %d", "sweep-%d", "ab", "RUN_%d Big"}[rng.IntN(5)],
			Status: []string{"queued", "running", "succeeded", "failed"}[rng.IntN(4)], CreatedAt: at.Add(time.Duration(i) * time.Minute),
			Review: db.RunReview{State: []string{"", db.ReviewUnreviewed, db.ReviewApproved, db.ReviewRejected}[rng.IntN(4)], Outdated: rng.IntN(5) == 0}}
		if slices.Contains([]string{"Run %d", "run %d", "sweep-%d", "RUN_%d Big"}, r.Name) {
			r.Name = fmt.Sprintf(r.Name, i)
		}
		r.Tags = [][]string{{}, {"gpu"}, {"cpu", "gpu"}, {"big"}}[rng.IntN(4)]
		if rng.IntN(10) == 0 {
			d := at
			r.DeletedAt = &d
		}
		if rng.IntN(6) == 0 {
			r.Notes = []string{"Diverged after warm-up", "fine", "lr too high"}[rng.IntN(3)]
		}
		if rng.IntN(3) == 0 {
			s := at.Add(time.Duration(rng.IntN(100)) * time.Minute)
			r.StartedAt = &s
		}
		r.Params = db.Params{"p1": rng.Float64(), "seed": int64(rng.IntN(20)), "opt": []string{"adam", "sgd"}[rng.IntN(2)]}
		if rng.IntN(4) == 0 {
			r.Params["p1"] = "text"
		}
		r.Metrics = db.Metrics{"loss": []float64{rng.Float64(), math.Inf(1), math.Inf(-1), math.NaN(), 0.5}[rng.IntN(5)]}
		runs[i] = r
		ix.put(r, nil)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		write(i, rng)
	}
	for range 2000 { // rewrite runs: every field may move
		write(rng.IntN(3000), rng)
	}
	return ix, at
}

// TestSortedPagesAgreeWithASort checks sorted pages (a key's column read
// whole for a loose filter, the values of a few runs looked up for a
// tight one, the cursor, the runs without a value after the others)
// against a plain sort of the runs the per-run test selects.
func TestSortedPagesAgreeWithASort(t *testing.T) {
	ix, at := mixedIndex()
	now := at.Add(time.Hour)
	for _, src := range []string{"", `project = p1`, `params.seed = 7`, `params.seed = 7 and tag = gpu`, `status = failed and metrics.loss > 0.3`, `name ~ "run 2"`} {
		for _, key := range []string{db.KeyMetric + "loss", db.KeyParam + "p1", db.KeyCreated, db.KeyName, db.KeyStarted} {
			for _, desc := range []bool{false, true} {
				f := db.RunFilter{SortKey: key, SortDesc: desc, QueryNow: now}
				if src != "" {
					n, err := query.Parse(src, now)
					if err != nil {
						t.Fatal(err)
					}
					f.Query = n
				}
				e, err := newEvaluator(ix, f)
				if err != nil {
					t.Fatal(err)
				}
				// The reference: every selected run, sorted.
				type item struct {
					id  string
					has bool
					num float64
					txt string
				}
				col := ix.colOf[key]
				var want []item
				for i := range int32(e.n) {
					if !e.test(i) {
						continue
					}
					it := item{id: ix.ids[i]}
					_, isCol := ix.colOf[key]
					if isCol || key == db.KeyName || key == db.KeyCreated || key == db.KeyStarted {
						it.num, it.txt, it.has = ix.sortValue(key, col, i)
					}
					want = append(want, it)
				}
				slices.SortFunc(want, func(a, b item) int {
					switch {
					case a.has != b.has:
						if a.has {
							return -1
						}
						return 1
					case !a.has:
						return strings.Compare(b.id, a.id) // newest first
					}
					x := sorted{a.id, a.num, a.txt}
					y := sorted{b.id, b.num, b.txt}
					switch {
					case x.before(y, desc):
						return -1
					case y.before(x, desc):
						return 1
					}
					return 0
				})
				// Walk the pages of 37 with the cursor, as the API does.
				var got []string
				f2 := f
				for range 200 {
					e, _ := newEvaluator(ix, f2)
					ids, more := ix.page(e, 37)
					got = append(got, ids...)
					if !more {
						break
					}
					last := want[len(got)-1]
					f2.After = &db.SortCursor{HasValue: last.has, Num: last.num, Txt: last.txt, ID: last.id}
				}
				var wantIDs []string
				for _, it := range want {
					wantIDs = append(wantIDs, it.id)
				}
				if !slices.Equal(got, wantIDs) {
					t.Errorf("%q sorted by %s (desc %v): pages give %d runs, the sort %d; first difference at %d", src, key, desc,
						len(got), len(wantIDs), firstDiff(got, wantIDs))
				}
			}
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestIndexReadsShareTheSets runs queries that read the value sets (an or
// of projects and tags, name trigrams, sorted pages) from several
// goroutines under the read lock while runs are written under the write
// lock: under -race, a read that changed a shared set would show.
func TestIndexReadsShareTheSets(t *testing.T) {
	ix, at := mixedIndex()
	now := at.Add(time.Hour)
	n, err := query.Parse(`project in (p1, p2, p3) and (tag in (gpu, big) or name ~ "run 1") and status in (failed, queued)`, now)
	if err != nil {
		t.Fatal(err)
	}
	f := db.RunFilter{Query: n, Projects: []string{"p1", "p2"}, SortKey: db.KeyMetric + "loss", QueryNow: now}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				ix.mu.RLock()
				e, err := newEvaluator(ix, f)
				if err == nil {
					ix.page(e, 50)
				}
				ix.mu.RUnlock()
			}
		}()
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		ix.mu.Lock()
		ix.put(&db.Run{ID: fmt.Sprintf("%08d", 3000+i), Project: fmt.Sprintf("p%d", rng.IntN(4)), Name: fmt.Sprintf("run %d", i),
			Status: "failed", Tags: []string{"gpu"}, CreatedAt: at, Metrics: db.Metrics{"loss": rng.Float64()}}, nil)
		ix.mu.Unlock()
	}
	close(done)
	wg.Wait()
}
