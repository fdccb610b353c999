package db_test

import (
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
	"labreview/db/query"
)

// TestDeleteSeriesFromAStep: a series truncated from a step keeps the
// points before it, its summary, query values and the run follow, and a
// verdict turns outdated; truncated from 0 the series is gone, from the
// run's names too; a second truncation changes nothing.
func TestDeleteSeriesFromAStep(t *testing.T) {
	t0 := now()
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		r := newRun("trunc", "a", t0)
		if _, _, err := s.CreateRun(ctx(t), r); err != nil {
			t.Fatal(err)
		}
		loss := pts(0, 599, 1, func(st int64) float64 { return 1000 - float64(st) })
		if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{"loss": loss, "val.loss": pts(0, 9, 1, func(int64) float64 { return 1 })}, t0); err != nil {
			t.Fatal(err)
		}
		e := &db.ReviewEntry{ID: db.NewID(), RunID: r.ID, State: db.ReviewApproved, By: db.NewID(), At: t0, BatchID: "b", DataVersion: 2, Snapshot: []byte("{}")}
		if _, _, err := s.ReviewRun(ctx(t), e, t0, func(*db.Run) error { return nil }); err != nil {
			t.Fatal(err)
		}
		before, _ := s.RunByID(ctx(t), r.ID)
		if before.Review.Outdated {
			t.Fatalf("outdated before the truncation: %+v", before.Review)
		}

		removed, err := s.DeleteSeries(ctx(t), r.ID, "loss", 300, t0.Add(1))
		if err != nil || removed != 300 {
			t.Fatalf("truncate: %d %v", removed, err)
		}
		samePoints(t, readSeries(t, s, r.ID, "loss"), loss[:300])
		after, _ := s.RunByID(ctx(t), r.ID)
		if after.DataVersion != before.DataVersion+1 || after.Version != before.Version+1 || !after.Review.Outdated {
			t.Fatalf("the run after a truncation: %+v, before %+v", after, before)
		}
		sums, _ := s.SeriesSummaries(ctx(t), r.ID)
		if len(sums) != 2 || sums[0].Name != "loss" || sums[0].Count != 300 || sums[0].LastStep != 299 || sums[0].Min != 701 || sums[0].Last != 701 {
			t.Fatalf("summaries %+v", sums)
		}
		count := func(q string) int {
			n, err := query.Parse(q, t0)
			if err != nil {
				t.Fatal(err)
			}
			page, _, err := s.ListRuns(ctx(t), db.RunFilter{Query: n, QueryNow: t0}, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(page)
		}
		if count(`count(loss) = 300 and min(loss) = 701`) != 1 || count(`count(loss) = 600`) != 0 {
			t.Fatal("the query values did not follow the truncation")
		}
		// Again: nothing to remove, nothing changes.
		if removed, err := s.DeleteSeries(ctx(t), r.ID, "loss", 300, t0.Add(2)); err != nil || removed != 0 {
			t.Fatalf("a second truncation: %d %v", removed, err)
		}
		if again, _ := s.RunByID(ctx(t), r.ID); again.Version != after.Version {
			t.Fatalf("a truncation of nothing changed the run: %d → %d", after.Version, again.Version)
		}
		// Within one chunk, at its first step.
		if removed, err := s.DeleteSeries(ctx(t), r.ID, "loss", 240, t0.Add(3)); err != nil || removed != 60 {
			t.Fatalf("truncate at a chunk's start: %d %v", removed, err)
		}
		samePoints(t, readSeries(t, s, r.ID, "loss"), loss[:240])

		// From 0: the series is gone, and from the names.
		if removed, err := s.DeleteSeries(ctx(t), r.ID, "val.loss", 0, t0.Add(4)); err != nil || removed != 10 {
			t.Fatalf("delete: %d %v", removed, err)
		}
		sums, _ = s.SeriesSummaries(ctx(t), r.ID)
		if len(sums) != 1 || sums[0].Name != "loss" {
			t.Fatalf("summaries after a delete: %+v", sums)
		}
		wantKeys(t, s, "trunc", "", []string{"lr"}, nil, []string{"loss"})
		if count(`count("val.loss") exists`) != 0 {
			t.Fatal("a deleted series still answers queries")
		}
		// It can be written again.
		if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{"val.loss": pts(5, 6, 1, func(int64) float64 { return 2 })}, t0); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "trunc", "", []string{"lr"}, nil, []string{"loss", "val.loss"})
		if count(`count("val.loss") = 2`) != 1 {
			t.Fatal("a series written again does not answer queries")
		}
		// The clock: its points go, the run does not change.
		if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{db.ClockSeries: pts(0, 9, 1, func(st int64) float64 { return 1.7e9 + float64(st) })}, t0); err != nil {
			t.Fatal(err)
		}
		v, _ := s.RunByID(ctx(t), r.ID)
		if removed, err := s.DeleteSeries(ctx(t), r.ID, db.ClockSeries, 5, t0); err != nil || removed != 5 {
			t.Fatalf("clock: %d %v", removed, err)
		}
		if w, _ := s.RunByID(ctx(t), r.ID); w.Version != v.Version {
			t.Fatal("truncating the clock changed the run")
		}
		if got := readSeries(t, s, r.ID, db.ClockSeries); len(got) != 5 {
			t.Fatalf("clock: %v", got)
		}
	})
}
