package db_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
	"labreview/db/query"
)

// TestNamesFloatsAndFailures: names with dots, slashes and other
// characters, whole floats and failure reasons round-trip on both
// adapters and can be queried, sorted and listed.
func TestNamesFloatsAndFailures(t *testing.T) {
	t0 := now()
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		a := newRun("names", "a", t0)
		a.Params = map[string]any{"model.lr": 0.1, "opt": map[string]any{"beta.1": 0.9}, "data/set": "cifar", "lr": 2.0,
			"steps": int64(2), "Größe": "groß"}
		a.Metrics = db.Metrics{"val.loss": 0.25, "train/loss": 0.3, "acc@5": 0.9, "Verlust (ü)": 1}
		a.Status = db.StatusFailed
		a.Failure = &db.Failure{Reason: "FloatingPointError: NaN loss at step 120", Detail: "Traceback (most recent call last):\n  File …"}
		b := newRun("names", "b", t0.Add(1))
		b.Params = map[string]any{"model": map[string]any{"lr": 0.01}, "lr": int64(2)}
		b.Metrics = db.Metrics{"val.loss": 0.5}
		b.Status = db.StatusCancelled
		b.Failure = &db.Failure{Reason: "closed by a reviewer: no sign of life since Monday"}
		c := newRun("names", "c", t0.Add(2))
		c.Status = db.StatusSucceeded
		for _, r := range []*db.Run{a, b, c} {
			if _, _, err := s.CreateRun(ctx(t), r); err != nil {
				t.Fatal(err)
			}
		}
		for run, batch := range map[string]map[string][]db.Point{
			a.ID: {"val.loss": pts(0, 9, 1, func(st int64) float64 { return 1 / float64(st+1) }), "train/loss": pts(0, 4, 1, func(int64) float64 { return 2 })},
			b.ID: {"val.loss": pts(0, 2, 1, func(int64) float64 { return 0.5 })},
		} {
			if _, err := s.WriteSeries(ctx(t), run, batch, t0); err != nil {
				t.Fatal(err)
			}
		}

		got, err := s.RunByID(ctx(t), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Params, a.Params) || !reflect.DeepEqual(got.Failure, a.Failure) {
			t.Fatalf("params %#v, failure %#v", got.Params, got.Failure)
		}
		if _, ok := got.Params["lr"].(float64); !ok {
			t.Fatalf("the whole float 2.0 came back as %T", got.Params["lr"])
		}
		if js, _ := json.Marshal(got.Params); !reflect.DeepEqual(string(js),
			`{"Größe":"groß","data/set":"cifar","lr":2.0,"model.lr":0.1,"opt":{"beta.1":0.9},"steps":2}`) {
			t.Fatalf("params as JSON: %s", js)
		}
		sums, err := s.SeriesSummaries(ctx(t), a.ID)
		if err != nil || len(sums) != 2 || sums[0].Name != "train/loss" || sums[1].Name != "val.loss" || sums[1].Count != 10 {
			t.Fatalf("series %+v %v", sums, err)
		}
		if sb, _ := s.RunByID(ctx(t), b.ID); sb.Params["lr"] != int64(2) {
			t.Fatalf("an integer came back as %T", sb.Params["lr"])
		}
		wantKeys(t, s, "names", "", []string{"Größe", "data/set", "lr", "model.lr", "opt.beta.1", "steps"},
			[]string{"Verlust (ü)", "acc@5", "train/loss", "val.loss"}, []string{"train/loss", "val.loss"})
		wantKeys(t, s, "names", "val.", nil, []string{"val.loss"}, []string{"val.loss"})

		o := &oracle{now: t0, staleBefore: t0, series: map[string]map[string]db.SeriesSummary{}}
		var runs []*db.Run
		for _, r := range []*db.Run{a, b, c} {
			stored, _ := s.RunByID(ctx(t), r.ID)
			runs = append(runs, stored)
			sums, _ := s.SeriesSummaries(ctx(t), r.ID)
			o.series[r.ID] = map[string]db.SeriesSummary{}
			for _, x := range sums {
				o.series[r.ID][x.Name] = x
			}
		}
		for src, wantN := range map[string]int{
			`metrics."val.loss" < 0.3`: 1, `metrics.val.loss <= 0.5`: 2, `metrics."train/loss" exists`: 1, `metrics."acc@5" > 0.5`: 1,
			`metrics."Verlust (ü)" = 1`: 1, `not metrics."val.loss" exists`: 1,
			`params.model.lr < 0.05`: 1, `params."model.lr" = 0.1`: 1, `params.model exists`: 2, `params.opt.beta.1 = 0.9`: 1,
			`params.opt."beta.1" = 0.9`: 1, `params."data/set" = cifar`: 1, `params.lr = 2`: 2, `params.Größe = "groß"`: 1,
			`min("val.loss") < 0.2`: 1, `count("train/loss") exists`: 1, `last(val.loss) = 0.5`: 1,
			`failure.reason ~ "nan loss"`: 1, `failure.reason exists`: 2, `not failure.reason exists`: 1,
			`failure.reason != "x"`: 2, `failure.reason in ("x", "FloatingPointError: NaN loss at step 120")`: 1,
			`not failure.reason = "x"`: 3,
		} {
			n, err := query.Parse(src, t0)
			if err != nil {
				t.Fatalf("%q: %v", src, err)
			}
			want := []string{}
			for i := len(runs) - 1; i >= 0; i-- {
				if o.eval(n, runs[i]) {
					want = append(want, runs[i].ID)
				}
			}
			page, _, err := s.ListRuns(ctx(t), db.RunFilter{Query: n, QueryNow: t0, QueryStaleBefore: t0}, 10)
			if err != nil {
				t.Fatalf("%q: %v", src, err)
			}
			ids := []string{}
			for _, r := range page {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, want) || len(ids) != wantN {
				t.Errorf("%q: %v, want %v (%d)", src, names(runs, ids), names(runs, want), wantN)
			}
		}
		for key, want := range map[string][]string{
			db.KeyMetric + "val.loss":         {"a", "b", "c"},
			db.SeriesKey("max", "train/loss"): {"a", "c", "b"},
			db.KeyParam + "model.lr":          {"b", "a", "c"},
			db.KeyMetric + "Verlust (ü)":      {"a", "c", "b"},
			db.SeriesKey("count", "val.loss"): {"b", "a", "c"},
		} {
			page, _, err := s.ListRuns(ctx(t), db.RunFilter{SortKey: key}, 10)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, r := range page {
				ids = append(ids, r.ExternalID)
			}
			if !reflect.DeepEqual(ids, want) {
				t.Errorf("sorted by %s: %v, want %v", key, ids, want)
			}
		}

		// A change keeps the names and the failure, and can drop it.
		_, after, err := s.UpdateRun(ctx(t), a.ID, t0, func(r *db.Run) error {
			r.Metrics["val.loss"] = 0.125
			r.Failure = nil
			return nil
		})
		if err != nil || after.Failure != nil || after.Metrics["val.loss"] != 0.125 || after.Params["lr"] != 2.0 {
			t.Fatalf("after a change: %+v %v", after, err)
		}
		stored, _ := s.RunByID(ctx(t), a.ID)
		if stored.Failure != nil || !reflect.DeepEqual(stored.Params, a.Params) {
			t.Fatalf("stored after a change: %+v", stored)
		}
	})
}

// TestCreateAnswersWhatReadsBack: the run CreateRun returns is the run a
// later read gives (times to the millisecond, empty lists, the review
// state), however the caller filled it in.
func TestCreateAnswersWhatReadsBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		at := time.Now().UTC().Add(123456 * time.Nanosecond)
		r := &db.Run{ID: db.NewID(), Project: "p", ExternalID: "x", Name: "x", Status: db.StatusRunning, CreatedAt: at, UpdatedAt: at,
			StartedAt: &at, HeartbeatAt: &at, Version: 1, Params: map[string]any{"lr": 2.0, "n": int64(3), "a.b": []any{1.5, "x"}}}
		created, ok, err := s.CreateRun(ctx(t), r)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		read, err := s.RunByID(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(created, read) {
			t.Fatalf("created\n%#v\nread\n%#v", created, read)
		}
	})
}

// TestCreateRunAuditedWritesTheEventOnce: the creation's audit event is
// stored with the run, and a create that finds the run stores none.
func TestCreateRunAuditedWritesTheEventOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		made := 0
		event := func(stored *db.Run) *db.AuditEvent {
			made++
			return &db.AuditEvent{Event: "run_created", Details: map[string]any{"run_id": stored.ID}}
		}
		r := newRun("audited", "a", now())
		for i := range 2 {
			c := db.CloneRun(r)
			if i > 0 {
				c.ID = db.NewID() // a retried create: a new id, the same external id
			}
			if _, _, err := s.CreateRunAudited(ctx(t), c, event); err != nil {
				t.Fatal(err)
			}
		}
		events, _, err := s.ListAudit(ctx(t), db.AuditFilter{Event: "run_created"}, 10)
		if err != nil || len(events) != 1 || made != 1 || events[0].Details["run_id"] != r.ID || events[0].ID == "" || events[0].At.IsZero() {
			t.Fatalf("%d events %+v, %d made, %v", len(events), events, made, err)
		}
	})
}
