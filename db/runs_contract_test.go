package db_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

func newRun(project, external string, at time.Time) *db.Run {
	return &db.Run{ID: db.NewID(), Project: project, ExternalID: external, Name: "run " + external, Status: db.StatusQueued,
		Host: "node-1", JobID: "42", CreatedBy: db.NewID(), Params: map[string]any{"lr": 0.001}, Metrics: db.Metrics{},
		Tags: []string{}, CreatedAt: at, UpdatedAt: at, Version: 1, DataVersion: 1, Review: db.RunReview{State: db.ReviewUnreviewed}}
}

// sameRun compares runs, NaN equal to NaN.
func sameRun(t *testing.T, got, want *db.Run) {
	t.Helper()
	g, w := *got, *want
	if len(g.Metrics) != len(w.Metrics) {
		t.Fatalf("metrics %v, want %v", g.Metrics, w.Metrics)
	}
	for k, v := range w.Metrics {
		if gv, ok := g.Metrics[k]; !ok || (gv != v && !(math.IsNaN(gv) && math.IsNaN(v))) {
			t.Fatalf("metric %s = %v, want %v", k, g.Metrics[k], v)
		}
	}
	g.Metrics, w.Metrics = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("run\n got %#v\nwant %#v", g, w)
	}
}

func TestRunRoundTripAndIdempotentCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		t0 := now()
		r := newRun("sweep-12", "job-1", t0)
		r.Params = map[string]any{"int": int64(1) << 60, "float": 0.5, "whole float": int64(3), "s": "x \"y\" <b>",
			"b": true, "nil": nil, "nested": map[string]any{"a": []any{int64(1), "two", map[string]any{"deep": -2.5e-300}}}}
		r.Metrics = db.Metrics{"loss": 0.25, "nan": math.NaN(), "inf": math.Inf(1), "-inf": math.Inf(-1), "big": 1e300}
		r.Tags, r.Notes, r.CreatedByToken = []string{"a", "b"}, "first\nnote", db.NewID()
		r.StartedAt = &t0
		got, created, err := s.CreateRun(ctx(t), r)
		if err != nil || !created {
			t.Fatalf("create: %v %v", created, err)
		}
		sameRun(t, got, r)
		byID, err := s.RunByID(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameRun(t, byID, r)

		// A retried create with other fields returns the stored run.
		again := newRun("sweep-12", "job-1", t0.Add(time.Second))
		got, created, err = s.CreateRun(ctx(t), again)
		if err != nil || created || got.ID != r.ID {
			t.Fatalf("retried create: %v %v %v", got.ID, created, err)
		}
		// The same external id in another project is another run.
		if _, created, err := s.CreateRun(ctx(t), newRun("sweep-13", "job-1", t0)); err != nil || !created {
			t.Fatalf("other project: %v %v", created, err)
		}
		for _, id := range []string{db.NewID(), "nonsense"} {
			if _, err := s.RunByID(ctx(t), id); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("unknown run %q: %v", id, err)
			}
		}
	})
}

func TestConcurrentCreatesMakeOneRun(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids, createdCount := map[string]bool{}, 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, created, err := s.CreateRun(ctx(t), newRun("p", "same", now()))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids[got.ID] = true
				if created {
					createdCount++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(ids) != 1 || createdCount != 1 {
			t.Fatalf("20 identical creates gave runs %v, %d reported as created", ids, createdCount)
		}
	})
}

func TestUpdateRunIsAtomic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		r, _, err := s.CreateRun(ctx(t), newRun("p", "u", now()))
		if err != nil {
			t.Fatal(err)
		}
		t1 := now().Add(time.Minute)
		before, after, err := s.UpdateRun(ctx(t), r.ID, t1, func(r *db.Run) error {
			r.Status, r.HeartbeatAt = db.StatusRunning, &t1
			r.Metrics["step"] = 1
			r.Params["lr"] = 0.01
			return nil
		})
		if err != nil || before.Version != 1 || after.Version != 2 || !after.UpdatedAt.Equal(t1) || after.Status != db.StatusRunning {
			t.Fatalf("update: %+v %+v %v", before, after, err)
		}
		if before.Params["lr"] != 0.001 || len(before.Metrics) != 0 {
			t.Fatalf("the change reached the before state: %+v", before)
		}
		stored, _ := s.RunByID(ctx(t), r.ID)
		sameRun(t, stored, after)

		// An error from the change stores nothing.
		refuse := errors.New("refused")
		if _, _, err := s.UpdateRun(ctx(t), r.ID, t1, func(r *db.Run) error { r.Notes = "x"; return refuse }); !errors.Is(err, refuse) {
			t.Fatalf("refused change: %v", err)
		}
		if got, _ := s.RunByID(ctx(t), r.ID); got.Notes != "" || got.Version != 2 {
			t.Fatalf("a refused change was stored: %+v", got)
		}
		if _, _, err := s.UpdateRun(ctx(t), db.NewID(), t1, func(*db.Run) error { return nil }); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("unknown run: %v", err)
		}

		// 10 writers × 5 increments lose none.
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					if _, _, err := s.UpdateRun(ctx(t), r.ID, now(), func(r *db.Run) error { r.Metrics["step"]++; return nil }); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		got, _ := s.RunByID(ctx(t), r.ID)
		if got.Metrics["step"] != 51 || got.Version != 52 {
			t.Fatalf("after 50 concurrent increments: step %v, version %d", got.Metrics["step"], got.Version)
		}
	})
}

func TestListRunsPagesAndFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		t0 := now()
		var all []*db.Run
		for i := range 30 {
			r := newRun(fmt.Sprintf("p%d", i%3), fmt.Sprintf("e%02d", i), t0)
			r.Status = []string{db.StatusRunning, db.StatusSucceeded}[i%2]
			if i%5 == 0 {
				gone := t0
				r.DeletedAt = &gone
			}
			hb := t0.Add(time.Duration(i) * time.Minute)
			r.HeartbeatAt = &hb
			if _, _, err := s.CreateRun(ctx(t), r); err != nil {
				t.Fatal(err)
			}
			all = append(all, r)
		}
		want := func(keep func(i int, r *db.Run) bool) []string {
			out := []string{}
			for i := len(all) - 1; i >= 0; i-- {
				if keep(i, all[i]) {
					out = append(out, all[i].ID)
				}
			}
			return out
		}
		walk := func(f db.RunFilter, pageSize int) []string {
			out := []string{}
			for {
				page, more, err := s.ListRuns(ctx(t), f, pageSize)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page {
					out = append(out, r.ID)
				}
				if !more {
					return out
				}
				f.Before = page[len(page)-1].ID
			}
		}
		live := func(i int, r *db.Run) bool { return r.DeletedAt == nil }
		cases := map[string]struct {
			f    db.RunFilter
			keep func(i int, r *db.Run) bool
		}{
			"live":        {db.RunFilter{}, live},
			"deleted":     {db.RunFilter{Deleted: true}, func(i int, r *db.Run) bool { return r.DeletedAt != nil }},
			"project":     {db.RunFilter{Project: "p1"}, func(i int, r *db.Run) bool { return live(i, r) && r.Project == "p1" }},
			"status":      {db.RunFilter{Status: db.StatusRunning}, func(i int, r *db.Run) bool { return live(i, r) && r.Status == db.StatusRunning }},
			"both":        {db.RunFilter{Project: "p2", Status: db.StatusSucceeded}, func(i int, r *db.Run) bool { return live(i, r) && r.Project == "p2" && r.Status == db.StatusSucceeded }},
			"stale":       {db.RunFilter{Status: db.StatusRunning, StaleBefore: t0.Add(10 * time.Minute)}, func(i int, r *db.Run) bool { return live(i, r) && r.Status == db.StatusRunning && i < 10 }},
			"no such one": {db.RunFilter{Project: "nope"}, func(int, *db.Run) bool { return false }},
		}
		for name, c := range cases {
			for _, size := range []int{1, 4, 100} {
				if got, w := walk(c.f, size), want(c.keep); !reflect.DeepEqual(got, w) {
					t.Errorf("%s, pages of %d: got %v, want %v", name, size, got, w)
				}
			}
		}
	})
}

func TestReviewsAndOutdatedVerdicts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		r, _, err := s.CreateRun(ctx(t), newRun("p", "rev", now()))
		if err != nil {
			t.Fatal(err)
		}
		other, _, _ := s.CreateRun(ctx(t), newRun("p", "other", now()))
		t1 := now()
		e1 := &db.ReviewEntry{ID: db.NewID(), RunID: r.ID, State: db.ReviewApproved, By: db.NewID(), At: t1, Comment: "fine",
			BatchID: "b1", DataVersion: 1, Snapshot: []byte(`{"params":{"lr":0.001}}`)}
		before, after, err := s.ReviewRun(ctx(t), e1, t1, func(run *db.Run) error { return nil })
		if err != nil || before.Review.State != db.ReviewUnreviewed || after.Review.State != db.ReviewApproved ||
			after.Review.ID != e1.ID || after.Review.Outdated || after.Version != before.Version+1 {
			t.Fatalf("review: %+v %+v %v", before, after, err)
		}
		stored, _ := s.RunByID(ctx(t), r.ID)
		sameRun(t, stored, after)
		// A refused check stores nothing.
		refuse := errors.New("no")
		e2 := &db.ReviewEntry{ID: db.NewID(), RunID: r.ID, State: db.ReviewRejected, At: t1, BatchID: "b2", DataVersion: 1, Snapshot: []byte("{}")}
		if _, _, err := s.ReviewRun(ctx(t), e2, t1, func(*db.Run) error { return refuse }); !errors.Is(err, refuse) {
			t.Fatalf("refused: %v", err)
		}
		if _, err := s.ReviewByID(ctx(t), e2.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("a refused verdict was stored: %v", err)
		}
		// New series points make the verdict outdated, in the same write.
		if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{"loss": {{Step: 1, Value: 1}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		stored, _ = s.RunByID(ctx(t), r.ID)
		if !stored.Review.Outdated || stored.DataVersion != 2 || stored.Review.State != db.ReviewApproved {
			t.Fatalf("after new points: %+v", stored.Review)
		}
		// The same points again change nothing.
		if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{"loss": {{Step: 1, Value: 1}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.RunByID(ctx(t), r.ID); again.DataVersion != 2 {
			t.Fatalf("an identical batch bumped the data version to %d", again.DataVersion)
		}
		// A second verdict on the new data is current again.
		e3 := &db.ReviewEntry{ID: db.NewID(), RunID: r.ID, State: db.ReviewNeedsRerun, At: t1, Comment: "diverges",
			BatchID: "b3", DataVersion: 2, Snapshot: []byte("{}")}
		if _, after, err := s.ReviewRun(ctx(t), e3, t1, func(*db.Run) error { return nil }); err != nil || after.Review.Outdated {
			t.Fatalf("second verdict: %+v %v", after, err)
		}
		hist, err := s.ReviewHistory(ctx(t), r.ID)
		if err != nil || len(hist) != 2 || hist[0].ID != e3.ID || hist[1].ID != e1.ID || string(hist[1].Snapshot) != string(e1.Snapshot) {
			t.Fatalf("history: %+v %v", hist, err)
		}
		if b, err := s.ReviewBatch(ctx(t), "b1"); err != nil || len(b) != 1 || b[0].Comment != "fine" {
			t.Fatalf("batch: %+v %v", b, err)
		}
		// A batch covering two runs is a bulk review; b1 covers one run.
		third, _, _ := s.CreateRun(ctx(t), newRun("q", "third", now()))
		e4 := &db.ReviewEntry{ID: db.NewID(), RunID: third.ID, State: db.ReviewApproved, At: t1, BatchID: "b3",
			DataVersion: third.DataVersion, Snapshot: []byte("{}")}
		if _, _, err := s.ReviewRun(ctx(t), e4, t1, func(*db.Run) error { return nil }); err != nil {
			t.Fatal(err)
		}
		sizes, err := s.ReviewBatchSizes(ctx(t), []string{"b1", "b3", "b1", "none"})
		if err != nil || len(sizes) != 2 || sizes["b1"] != 1 || sizes["b3"] != 2 {
			t.Fatalf("batch sizes: %v %v", sizes, err)
		}
		if sizes, err := s.ReviewBatchSizes(ctx(t), nil); err != nil || len(sizes) != 0 {
			t.Fatalf("no batches: %v %v", sizes, err)
		}
		// Lists by verdict.
		ids := func(f db.RunFilter) []string {
			page, _, err := s.ListRuns(ctx(t), f, 10)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, x := range page {
				out = append(out, x.ID)
			}
			return out
		}
		if got := ids(db.RunFilter{Review: db.ReviewNeedsRerun}); len(got) != 1 || got[0] != r.ID {
			t.Fatalf("needs_rerun: %v", got)
		}
		if got := ids(db.RunFilter{Project: "p", Review: db.ReviewUnreviewed}); len(got) != 1 || got[0] != other.ID {
			t.Fatalf("unreviewed in p: %v", got)
		}
		if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{"loss": {{Step: 1, Value: 2}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := ids(db.RunFilter{Review: db.ReviewOutdated}); len(got) != 1 || got[0] != r.ID {
			t.Fatalf("outdated after a changed value: %v", got)
		}
	})
}

func TestComments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		r, _, _ := s.CreateRun(ctx(t), newRun("p", "c", now()))
		t0 := now()
		from, to := int64(5), int64(9)
		a := &db.Comment{ID: db.NewID(), RunID: r.ID, Author: db.NewID(), At: t0, Body: "look <here>",
			Anchor: &db.CommentAnchor{Series: "loss", From: &from, To: &to}, History: []db.CommentVersion{}}
		b := &db.Comment{ID: db.NewID(), RunID: r.ID, Author: db.NewID(), At: t0, Body: "and lr",
			Anchor: &db.CommentAnchor{Param: "model.lr"}, History: []db.CommentVersion{}}
		plain := &db.Comment{ID: db.NewID(), RunID: r.ID, Author: db.NewID(), At: t0, Body: "plain", History: []db.CommentVersion{}}
		for _, c := range []*db.Comment{a, b, plain} {
			if err := s.InsertComment(ctx(t), c); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.ListComments(ctx(t), r.ID)
		if err != nil || len(list) != 3 || !reflect.DeepEqual(&list[0], a) || !reflect.DeepEqual(&list[1], b) || !reflect.DeepEqual(&list[2], plain) {
			t.Fatalf("list: %+v %v", list, err)
		}
		t1 := t0.Add(time.Minute)
		after, err := s.UpdateComment(ctx(t), a.ID, func(c *db.Comment) error {
			c.History = append(c.History, db.CommentVersion{Body: c.Body, At: c.At})
			c.Body, c.EditedAt = "look closer", &t1
			return nil
		})
		if err != nil || after.Body != "look closer" || len(after.History) != 1 {
			t.Fatalf("edit: %+v %v", after, err)
		}
		got, _ := s.CommentByID(ctx(t), a.ID)
		if !reflect.DeepEqual(got, after) {
			t.Fatalf("stored edit %+v, want %+v", got, after)
		}
		if _, err := s.CommentByID(ctx(t), db.NewID()); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("unknown comment: %v", err)
		}
	})
}

// TestProjectCounters: every run write moves its project's counters.
func TestProjectCounters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		counts := func(name string) map[string]int64 {
			p, err := s.ProjectByName(ctx(t), name)
			if err != nil {
				t.Fatal(err)
			}
			return p.Counts
		}
		want := func(name string, w map[string]int64) {
			t.Helper()
			if got := counts(name); !reflect.DeepEqual(got, w) {
				t.Fatalf("%s counts %v, want %v", name, got, w)
			}
		}
		a, _, _ := s.CreateRun(ctx(t), newRun("alpha", "1", now()))
		s.CreateRun(ctx(t), newRun("alpha", "2", now()))
		s.CreateRun(ctx(t), newRun("alpha", "2", now())) // the same run: no count
		s.CreateRun(ctx(t), newRun("beta", "1", now()))
		want("alpha", map[string]int64{"live": 2, "status:queued": 2, "review:unreviewed": 2})
		if _, _, err := s.UpdateRun(ctx(t), a.ID, now(), func(r *db.Run) error { r.Status = db.StatusSucceeded; return nil }); err != nil {
			t.Fatal(err)
		}
		e := &db.ReviewEntry{ID: db.NewID(), RunID: a.ID, State: db.ReviewApproved, At: now(), BatchID: "b", DataVersion: 1, Snapshot: []byte("{}")}
		if _, _, err := s.ReviewRun(ctx(t), e, now(), func(*db.Run) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteSeries(ctx(t), a.ID, map[string][]db.Point{"x": {{Step: 0, Value: 1}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		want("alpha", map[string]int64{"live": 2, "status:queued": 1, "status:succeeded": 1, "review:unreviewed": 1,
			"review:approved": 1, "outdated": 1})
		gone := now()
		if _, _, err := s.UpdateRun(ctx(t), a.ID, now(), func(r *db.Run) error { r.DeletedAt = &gone; return nil }); err != nil {
			t.Fatal(err)
		}
		want("alpha", map[string]int64{"live": 1, "deleted": 1, "status:queued": 1, "review:unreviewed": 1})
		list, err := s.ListProjects(ctx(t))
		if err != nil || len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "beta" || list[0].LastActivity.IsZero() {
			t.Fatalf("projects: %+v %v", list, err)
		}
		if err := s.SetBaseline(ctx(t), "beta", a.ID); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.ProjectByName(ctx(t), "beta"); p.BaselineRun != a.ID {
			t.Fatalf("baseline: %+v", p)
		}
		if err := s.SetBaseline(ctx(t), "nope", a.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("baseline of an unknown project: %v", err)
		}
	})
}
