package db_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

func pts(from, to, every int64, f func(step int64) float64) []db.Point {
	var out []db.Point
	for s := from; s <= to; s += every {
		out = append(out, db.Point{Step: s, Value: f(s)})
	}
	return out
}

// readAll reads a whole series back through the chunk summaries and the
// chunks, checking that each summary matches its points.
func readSeries(t *testing.T, s db.Store, run, name string) []db.Point {
	t.Helper()
	sums, err := s.ChunkSummaries(ctx(t), run, name, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	firsts := make([]int64, len(sums))
	for i, c := range sums {
		firsts[i] = c.FirstStep
	}
	chunks, err := s.Chunks(ctx(t), run, name, firsts)
	if err != nil || len(chunks) != len(sums) {
		t.Fatalf("chunks: %d of %d, %v", len(chunks), len(sums), err)
	}
	var out []db.Point
	for i, c := range chunks {
		if len(c.Points) > db.ChunkPoints || len(c.Points) == 0 {
			t.Fatalf("a chunk of %d points", len(c.Points))
		}
		if want := db.Summarize(c.Points); !sameSummary(c.ChunkSummary, want) || !sameSummary(sums[i], want) {
			t.Fatalf("chunk summary %+v, index %+v, points say %+v", c.ChunkSummary, sums[i], want)
		}
		out = append(out, c.Points...)
	}
	return out
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func sameSummary(a, b db.ChunkSummary) bool {
	return a.FirstStep == b.FirstStep && a.LastStep == b.LastStep && a.Count == b.Count && sameFloat(a.First, b.First) &&
		sameFloat(a.Last, b.Last) && sameFloat(a.Min, b.Min) && sameFloat(a.Max, b.Max) && a.MinStep == b.MinStep && a.MaxStep == b.MaxStep
}

func samePoints(t *testing.T, got, want []db.Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Step != want[i].Step || !sameFloat(got[i].Value, want[i].Value) {
			t.Fatalf("point %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSeriesWriteIsIdempotentAndChunked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		run, _, err := s.CreateRun(ctx(t), newRun("p", "series", now()))
		if err != nil {
			t.Fatal(err)
		}
		// 3,000 points in batches of 700, NaN and infinities among them.
		all := pts(0, 2999, 1, func(st int64) float64 {
			switch st {
			case 17:
				return math.NaN()
			case 1234:
				return math.Inf(1)
			case 2345:
				return math.Inf(-1)
			}
			return math.Sin(float64(st) / 50)
		})
		total := 0
		for i := 0; i < len(all); i += 700 {
			batch := all[i:min(i+700, len(all))]
			n, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"loss": append([]db.Point{}, batch...)}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		if total != 3000 {
			t.Fatalf("added %d, want 3000", total)
		}
		samePoints(t, readSeries(t, s, run.ID, "loss"), all)
		// The same batch again adds nothing and changes nothing.
		if n, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"loss": append([]db.Point{}, all[600:1500]...)}, time.Now()); err != nil || n != 0 {
			t.Fatalf("retried batch: added %d, %v", n, err)
		}
		samePoints(t, readSeries(t, s, run.ID, "loss"), all)
		sums, err := s.SeriesSummaries(ctx(t), run.ID)
		if err != nil || len(sums) != 1 || sums[0].Count != 3000 || sums[0].LastStep != 2999 || sums[0].Max != math.Inf(1) ||
			sums[0].Min != math.Inf(-1) || !sameFloat(sums[0].Last, all[2999].Value) {
			t.Fatalf("series summary %+v %v", sums, err)
		}
		// A changed value for a stored step replaces it; the summary
		// follows (here the maximum falls).
		n, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"loss": {{Step: 1234, Value: 0.5}}}, time.Now())
		if err != nil || n != 0 {
			t.Fatalf("overwrite: %d %v", n, err)
		}
		all[1234].Value = 0.5
		samePoints(t, readSeries(t, s, run.ID, "loss"), all)
		sums, _ = s.SeriesSummaries(ctx(t), run.ID)
		if sums[0].Max != 1 && math.Abs(sums[0].Max-1) > 1e-3 {
			t.Fatalf("maximum after the overwrite: %v", sums[0].Max)
		}
		// Points out of order and interleaved with stored ones.
		extra := []db.Point{{Step: 5000, Value: 1}, {Step: -3, Value: 2}, {Step: 2999, Value: 3}}
		if n, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"loss": db.SortPoints(extra)}, time.Now()); err != nil || n != 2 {
			t.Fatalf("scattered write: %d %v", n, err)
		}
		want := append([]db.Point{{Step: -3, Value: 2}}, all...)
		want[len(want)-1].Value = 3
		want = append(want, db.Point{Step: 5000, Value: 1})
		samePoints(t, readSeries(t, s, run.ID, "loss"), want)
		// A window finds the chunk holding its start.
		win, err := s.ChunkSummaries(ctx(t), run.ID, "loss", 1000, 1001)
		if err != nil || len(win) != 1 || win[0].FirstStep > 1000 || win[0].LastStep < 1001 {
			t.Fatalf("window: %+v %v", win, err)
		}
		if none, err := s.ChunkSummaries(ctx(t), run.ID, "nope", 0, 10); err != nil || len(none) != 0 {
			t.Fatalf("unknown series: %+v %v", none, err)
		}
	})
}

// TestConcurrentSeriesWritesLoseNothing: writers racing on one run's
// series (retries overlapping new batches) end with every point.
func TestConcurrentSeriesWritesLoseNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		run, _, _ := s.CreateRun(ctx(t), newRun("p", "race", now()))
		all := pts(0, 3999, 1, func(st int64) float64 { return float64(st) })
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 9))
				for range 10 {
					lo := r.IntN(3800)
					batch := append([]db.Point{}, all[lo:lo+200]...)
					// A writer kept waiting past the lease wait (FerretDB
					// under -race is slow) gets ErrLeaseHeld, which the
					// server answers 503 busy: it retries, as clients do.
					for attempt := 0; ; attempt++ {
						_, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"x": batch, "y": append([]db.Point{}, batch...)}, time.Now())
						if errors.Is(err, db.ErrLeaseHeld) && attempt < 5 {
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						break
					}
				}
			}()
		}
		wg.Wait()
		// Then everything, as a final catch-up: every step is there once.
		if _, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"x": append([]db.Point{}, all...)}, time.Now()); err != nil {
			t.Fatal(err)
		}
		samePoints(t, readSeries(t, s, run.ID, "x"), all)
		sums, _ := s.SeriesSummaries(ctx(t), run.ID)
		if len(sums) != 2 || sums[0].Name != "x" || sums[0].Count != 4000 {
			t.Fatalf("summaries %+v", sums)
		}
		y := readSeries(t, s, run.ID, "y")
		if int64(len(y)) != sums[1].Count {
			t.Fatalf("y has %d points, its summary says %d", len(y), sums[1].Count)
		}
	})
}

// TestClockIsNoJudgedData: the run's clock is stored like a series, but
// its times are not data a verdict judges: they count in no added steps
// and leave the data version as it is. A step keeps its earliest time.
func TestClockIsNoJudgedData(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		run, _, err := s.CreateRun(ctx(t), newRun("p", "clock", now()))
		if err != nil {
			t.Fatal(err)
		}
		clock := pts(0, 499, 1, func(st int64) float64 { return 1.7e9 + float64(st) })
		n, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"loss": pts(0, 499, 1, func(int64) float64 { return 1 }),
			db.ClockSeries: append([]db.Point{}, clock...)}, time.Now())
		if err != nil || n != 500 {
			t.Fatalf("series and clock: added %d, %v", n, err)
		}
		before, err := s.RunByID(ctx(t), run.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The same steps again, at later times for the first half and
		// earlier ones for the second: a step keeps its earliest time.
		later := pts(0, 499, 1, func(st int64) float64 { return 1.7e9 + float64(st) + float64(250-st)*1000 })
		want := append([]db.Point{}, clock...)
		for i := 250; i < 500; i++ {
			want[i] = later[i]
		}
		n, err = s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"loss": pts(0, 499, 1, func(int64) float64 { return 1 }),
			db.ClockSeries: append([]db.Point{}, later...)}, time.Now().Add(time.Hour))
		if err != nil || n != 0 {
			t.Fatalf("retried batch: added %d, %v", n, err)
		}
		after, err := s.RunByID(ctx(t), run.ID)
		if err != nil || after.DataVersion != before.DataVersion || after.Version != before.Version || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("the clock moved the run: data version %d → %d, version %d → %d, %v",
				before.DataVersion, after.DataVersion, before.Version, after.Version, err)
		}
		samePoints(t, readSeries(t, s, run.ID, db.ClockSeries), want)
	})
}

// TestSummariesOfAPage: the summaries of named series of several runs, as
// a list page asks for them, match each run's own summaries; names a run
// lacks and runs that are not there are left out.
func TestSummariesOfAPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		var ids []string
		for i := range 3 {
			run, _, err := s.CreateRun(ctx(t), newRun("p", "page-"+string(rune('a'+i)), now()))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, run.ID)
			batch := map[string][]db.Point{"loss": pts(0, int64(10*(i+1)), 1, func(st int64) float64 { return 1 / float64(st+1) })}
			if i > 0 {
				batch["val/loss"] = pts(5, 9, 1, func(st int64) float64 { return float64(i) * float64(st) })
				batch["other"] = pts(0, 3, 1, func(int64) float64 { return 7 })
			}
			if _, err := s.WriteSeries(ctx(t), run.ID, batch, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.SummariesOf(ctx(t), append([]string{db.NewID()}, ids...), []string{"val/loss", "loss", "missing"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("summaries of %d runs, want 3: %v", len(got), got)
		}
		for i, id := range ids {
			all, err := s.SeriesSummaries(ctx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			var want []db.SeriesSummary
			for _, sum := range all {
				if sum.Name == "loss" || sum.Name == "val/loss" {
					want = append(want, sum)
				}
			}
			if len(got[id]) != len(want) || len(want) != min(i+1, 2) {
				t.Fatalf("run %d: %+v, want %+v", i, got[id], want)
			}
			for j := range want {
				g, w := got[id][j], want[j]
				if g.Name != w.Name || g.Count != w.Count || g.FirstStep != w.FirstStep || g.LastStep != w.LastStep ||
					!sameFloat(g.Min, w.Min) || !sameFloat(g.Max, w.Max) || !sameFloat(g.Last, w.Last) {
					t.Fatalf("run %d, %s: %+v, want %+v", i, w.Name, g, w)
				}
			}
		}
		if none, err := s.SummariesOf(ctx(t), ids, nil); err != nil || len(none) != 0 {
			t.Fatalf("no names: %v, %v", none, err)
		}
	})
}
