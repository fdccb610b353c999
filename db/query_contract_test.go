package db_test

// The query contract: every query gives the same runs on both adapters,
// and the runs a plain Go reading of docs/query.md gives (oracle below).

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
	"labreview/db/query"
)

// oracle evaluates a query on a run the way docs/query.md says.
type oracle struct {
	now, staleBefore time.Time
	series           map[string]map[string]db.SeriesSummary // run id → name → summary
}

func (o *oracle) eval(n query.Node, r *db.Run) bool {
	switch n := n.(type) {
	case *query.And:
		for _, t := range n.Terms {
			if !o.eval(t, r) {
				return false
			}
		}
		return true
	case *query.Or:
		for _, t := range n.Terms {
			if o.eval(t, r) {
				return true
			}
		}
		return false
	case *query.Not:
		return !o.eval(n.X, r)
	case *query.Cond:
		return o.cond(n, r)
	}
	panic("node")
}

func anyValue(c *query.Cond, f func(v query.Value) bool) bool {
	for _, v := range c.Values {
		if f(v) {
			return true
		}
	}
	return false
}

func (o *oracle) text(c *query.Cond, s string) bool {
	return anyValue(c, func(v query.Value) bool {
		switch c.Op {
		case query.OpContains:
			return strings.Contains(strings.ToLower(s), strings.ToLower(v.Text))
		case query.OpNe:
			return s != v.Text
		}
		return s == v.Text
	})
}

func (o *oracle) shownStatus(r *db.Run) string {
	if r.Status != db.StatusRunning {
		return r.Status
	}
	alive := r.CreatedAt
	if r.HeartbeatAt != nil {
		alive = *r.HeartbeatAt
	} else if r.StartedAt != nil {
		alive = *r.StartedAt
	}
	if alive.Before(o.staleBefore) {
		return "stale"
	}
	return r.Status
}

func cmpNum(op query.Op, a, b float64) bool {
	switch op {
	case query.OpEq, query.OpIn:
		return a == b || (math.IsNaN(a) && math.IsNaN(b))
	case query.OpNe:
		return !(a == b || (math.IsNaN(a) && math.IsNaN(b)))
	case query.OpLt:
		return a < b
	case query.OpLe:
		return a <= b
	case query.OpGt:
		return a > b
	case query.OpGe:
		return a >= b
	}
	return false
}

func cmpTime(op query.Op, a, b time.Time) bool {
	return cmpNum(op, float64(a.UnixMilli()), float64(b.UnixMilli()))
}

func (o *oracle) cond(c *query.Cond, r *db.Run) bool {
	switch c.Field.Kind {
	case query.FieldProject:
		return o.text(c, r.Project)
	case query.FieldName:
		return o.text(c, r.Name)
	case query.FieldHost:
		return o.text(c, r.Host)
	case query.FieldReviewer:
		return o.text(c, r.Review.By)
	case query.FieldNotes:
		if c.Op == query.OpExists {
			return r.Notes != ""
		}
		return o.text(c, r.Notes)
	case query.FieldStatus:
		st := o.shownStatus(r)
		in := anyValue(c, func(v query.Value) bool { return v.Text == st })
		return in != (c.Op == query.OpNe)
	case query.FieldReview:
		in := anyValue(c, func(v query.Value) bool {
			if v.Text == "outdated" {
				return r.Review.Outdated
			}
			return v.Text == r.Review.State
		})
		return in != (c.Op == query.OpNe)
	case query.FieldTag:
		switch c.Op {
		case query.OpExists:
			return len(r.Tags) > 0
		case query.OpNe:
			return len(r.Tags) > 0 && !slices.Contains(r.Tags, c.Values[0].Text)
		case query.OpContains:
			return slices.ContainsFunc(r.Tags, func(t string) bool { return strings.Contains(strings.ToLower(t), strings.ToLower(c.Values[0].Text)) })
		}
		return anyValue(c, func(v query.Value) bool { return slices.Contains(r.Tags, v.Text) })
	case query.FieldCreated:
		return cmpTime(c.Op, r.CreatedAt, c.Values[0].Time)
	case query.FieldStarted, query.FieldFinished:
		t := r.StartedAt
		if c.Field.Kind == query.FieldFinished {
			t = r.FinishedAt
		}
		if c.Op == query.OpExists {
			return t != nil
		}
		return t != nil && cmpTime(c.Op, *t, c.Values[0].Time)
	case query.FieldDuration:
		if r.StartedAt == nil {
			return false
		}
		end := o.now
		if r.FinishedAt != nil {
			end = *r.FinishedAt
		}
		d := float64(end.Truncate(time.Millisecond).Sub(r.StartedAt.Truncate(time.Millisecond)).Milliseconds())
		if c.Op == query.OpNe {
			return d != c.Values[0].Num*1000
		}
		return anyValue(c, func(v query.Value) bool { return cmpNum(c.Op, d, v.Num*1000) })
	case query.FieldMetric:
		m, ok := r.Metrics[c.Field.Name]
		return o.number(c, m, ok)
	case query.FieldSeriesMin, query.FieldSeriesMax, query.FieldSeriesLast, query.FieldSeriesCount:
		s, ok := o.series[r.ID][c.Field.Name]
		var v float64
		switch c.Field.Kind {
		case query.FieldSeriesMin:
			v = s.Min
		case query.FieldSeriesMax:
			v = s.Max
		case query.FieldSeriesLast:
			v = s.Last
		default:
			v = float64(s.Count)
		}
		return o.number(c, v, ok)
	case query.FieldParam:
		params, err := db.ExpandParams(r.Params) // a dot in a name is a level
		if err != nil {
			panic(err)
		}
		return o.param(c, params)
	case query.FieldFailure:
		if r.Failure == nil {
			return false
		}
		return c.Op == query.OpExists || o.text(c, r.Failure.Reason)
	}
	panic(c.Field.String())
}

func (o *oracle) number(c *query.Cond, x float64, ok bool) bool {
	if !ok {
		return false
	}
	if c.Op == query.OpExists {
		return true
	}
	return anyValue(c, func(v query.Value) bool { return cmpNum(c.Op, x, v.Num) })
}

// param finds the value at a dotted path that runs through objects only.
func (o *oracle) param(c *query.Cond, params map[string]any) bool {
	cur := any(params)
	for _, part := range strings.Split(c.Field.Name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	if c.Op == query.OpExists {
		return true
	}
	eq := func(v query.Value) bool {
		switch x := cur.(type) {
		case string:
			return v.Kind == query.ValueText && x == v.Text
		case bool:
			return v.Kind == query.ValueBool && x == v.Bool
		case int64:
			return v.Kind == query.ValueNumber && float64(x) == v.Num
		case float64:
			return v.Kind == query.ValueNumber && x == v.Num
		}
		return false
	}
	if c.Op == query.OpNe {
		return !eq(c.Values[0])
	}
	return anyValue(c, func(v query.Value) bool {
		switch c.Op {
		case query.OpEq, query.OpIn:
			return eq(v)
		case query.OpContains:
			s, ok := cur.(string)
			return ok && strings.Contains(strings.ToLower(s), strings.ToLower(v.Text))
		}
		switch x := cur.(type) {
		case string:
			return v.Kind == query.ValueText && cmpText(c.Op, x, v.Text)
		case int64:
			return v.Kind == query.ValueNumber && cmpNum(c.Op, float64(x), v.Num)
		case float64:
			return v.Kind == query.ValueNumber && cmpNum(c.Op, x, v.Num)
		}
		return false
	})
}

func cmpText(op query.Op, a, b string) bool {
	c := strings.Compare(a, b)
	switch op {
	case query.OpLt:
		return c < 0
	case query.OpLe:
		return c <= 0
	case query.OpGt:
		return c > 0
	case query.OpGe:
		return c >= 0
	}
	return false
}

// queryFixture stores varied runs: every field set, missing, NaN, ±Inf,
// arrays in params, tags, series summaries.
func queryFixture(t *testing.T, s db.Store, t0 time.Time) (*oracle, []*db.Run) {
	o := &oracle{now: t0, staleBefore: t0.Add(-5 * time.Minute), series: map[string]map[string]db.SeriesSummary{}}
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	var runs []*db.Run
	for i := range 24 {
		r := newRun([]string{"sweep-1", "sweep-2", "Ablation"}[i%3], fmt.Sprintf("job-%02d", i), t0.Add(-time.Duration(24-i)*time.Hour))
		r.Name = []string{"lr scan", "LR Scan 2", "baseline", "odd ÉÈ"}[i%4]
		r.Host = fmt.Sprintf("node-%d", i%5)
		r.Status = []string{db.StatusQueued, db.StatusRunning, db.StatusSucceeded, db.StatusFailed, db.StatusCancelled}[i%5]
		if i%4 == 1 {
			r.Notes = "diverges after step 1200"
		}
		switch i % 6 {
		case 0:
			r.Tags = []string{"baseline", "gpu"}
		case 1:
			r.Tags = []string{"gpu"}
		case 2:
			r.Tags = []string{"Debug-run"}
		}
		if r.Status != db.StatusQueued {
			r.StartedAt = at(-time.Duration(i) * 10 * time.Minute)
		}
		if r.Status == db.StatusSucceeded || r.Status == db.StatusFailed || r.Status == db.StatusCancelled {
			r.FinishedAt = at(-time.Duration(i) * time.Minute)
		}
		if r.Status == db.StatusRunning && i%2 == 0 {
			r.HeartbeatAt = at(-time.Minute) // alive; the others are stale
		}
		r.Params = map[string]any{"lr": []any{0.1, 0.01, 0.001, int64(1), "high"}[i%5], "seed": int64(i),
			"opt": map[string]any{"name": []string{"adam", "sgd"}[i%2], "beta": 0.9}, "layers": []any{int64(64), int64(i)}, "flag": i%2 == 0}
		if i%7 == 0 {
			delete(r.Params, "lr")
			r.Params["grid"] = []any{map[string]any{"b": int64(1)}}
		}
		if i%5 == 4 {
			r.Params["nothing"] = nil
			r.Params["empty"] = map[string]any{}
		}
		r.Metrics = db.Metrics{"loss": float64(i) / 10, "acc": 1 - float64(i)/30}
		switch i % 8 {
		case 3:
			r.Metrics["loss"] = math.NaN()
		case 5:
			r.Metrics["loss"] = math.Inf(1)
		case 6:
			r.Metrics["loss"] = math.Inf(-1)
		case 7:
			delete(r.Metrics, "loss")
		}
		if _, _, err := s.CreateRun(ctx(t), r); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			e := &db.ReviewEntry{ID: db.NewID(), RunID: r.ID, State: []string{db.ReviewApproved, db.ReviewRejected}[i%2], By: "6b0a00000000000000000001",
				At: t0, BatchID: "b", DataVersion: 1, Snapshot: []byte("{}")}
			if _, _, err := s.ReviewRun(ctx(t), e, t0, func(*db.Run) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if i%2 == 0 {
			pts := []db.Point{{Step: 0, Value: float64(i)}, {Step: 1, Value: float64(i) / 2}}
			if i%8 == 0 {
				pts = append(pts, db.Point{Step: 2, Value: math.NaN()})
			}
			if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{"loss": pts}, t0); err != nil {
				t.Fatal(err)
			}
		}
		stored, _ := s.RunByID(ctx(t), r.ID)
		runs = append(runs, stored)
		sums, _ := s.SeriesSummaries(ctx(t), r.ID)
		o.series[r.ID] = map[string]db.SeriesSummary{}
		for _, x := range sums {
			o.series[r.ID][x.Name] = x
		}
	}
	return o, runs
}

var contractQueries = []string{
	`project = sweep-1`, `project != sweep-1`, `project in (sweep-2, Ablation)`, `project ~ "SWEEP"`,
	`name = "lr scan"`, `name ~ "lr scan"`, `name ~ scan and not name = "lr scan"`, `host in (node-1, node-3)`,
	`notes exists`, `not notes exists`, `notes ~ "step 12"`,
	`status = running`, `status = stale`, `status != running`, `status in (stale, failed)`, `not status = queued`,
	`review = approved`, `review = unreviewed`, `review != rejected`, `review = outdated`, `reviewer = "6b0a00000000000000000001"`,
	`tag = gpu`, `tag != gpu`, `tag exists`, `not tag exists`, `tag ~ debug`, `tag in (baseline, Debug-run)`,
	`created > -12h`, `created <= -20h`, `started exists`, `not finished exists`, `finished < -10m`, `started >= -1h`,
	`duration > 30m`, `duration <= 1h`, `duration != 0`, `duration in (3000, 60)`,
	`params.lr = 0.1`, `params.lr != 0.1`, `params.lr < 0.05`, `params.lr >= 1`, `params.lr = high`, `params.lr > "a"`,
	`params.lr exists`, `not params.lr exists`, `params.lr ~ HI`, `params.opt.name = adam`, `params.opt.beta = 0.9`,
	`params.opt exists`, `params.layers exists`, `params.layers = 64`, `params.layers != 64`, `params.grid.b = 1`, `params.grid.b exists`,
	`params.flag = true`, `params.flag != true`, `params.flag = 1`, `params.seed in (1, 2, 3)`, `params.nothing exists`,
	`params.empty exists`, `params.seed > 10 and params.seed <= 20`,
	`metrics.loss < 1`, `metrics.loss > 1`, `metrics.loss = NaN`, `metrics.loss != NaN`, `metrics.loss = Infinity`,
	`metrics.loss >= Infinity`, `metrics.loss < Infinity`, `metrics.loss > -Infinity`, `metrics.loss <= -Infinity`,
	`metrics.loss != 0.5`, `metrics.loss exists`, `not metrics.loss exists`, `not metrics.loss < 1`, `metrics.loss > NaN`,
	`metrics.loss in (0, 0.5, NaN)`, `metrics.acc >= 0.5 and metrics.loss < 0.5`,
	`min(loss) < 3`, `max(loss) >= 10`, `last(loss) = 4`, `count(loss) = 3`, `count(loss) exists`, `not count(loss) exists`,
	`min(other) < 1`,
	`(project = sweep-1 or project = sweep-2) and not (status = failed or review = approved)`,
	`project = Ablation or tag = gpu and metrics.acc > 0.8`,
	`not (params.lr < 0.05 or metrics.loss = NaN)`,
}

func TestQueriesGiveTheSameRunsOnBothAdapters(t *testing.T) {
	t0 := now()
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		o, runs := queryFixture(t, s, t0)
		for _, src := range contractQueries {
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
			got := []string{}
			f := db.RunFilter{Query: n, QueryNow: t0, QueryStaleBefore: o.staleBefore}
			for {
				page, more, err := s.ListRuns(ctx(t), f, 7)
				if err != nil {
					t.Fatalf("%q: %v", src, err)
				}
				for _, r := range page {
					got = append(got, r.ID)
				}
				if !more {
					break
				}
				f.Before = page[len(page)-1].ID
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q: %d runs %v, want %d %v", src, len(got), names(runs, got), len(want), names(runs, want))
			}
		}
	})
}

func names(runs []*db.Run, ids []string) []string {
	out := []string{}
	for _, id := range ids {
		for _, r := range runs {
			if r.ID == id {
				out = append(out, r.ExternalID)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sortValueOf is a run's sortable value for a key (ok false: none).
func (o *oracle) sortValueOf(r *db.Run, key string) (num float64, txt string, ok bool) {
	finite := func(v float64, present bool) (float64, string, bool) {
		return v, "", present && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	switch {
	case key == db.KeyName:
		return 0, r.Name, true
	case key == db.KeyStarted:
		if r.StartedAt == nil {
			return 0, "", false
		}
		return float64(r.StartedAt.UnixMilli()), "", true
	case key == db.KeyDuration:
		if r.StartedAt == nil || r.FinishedAt == nil {
			return 0, "", false
		}
		return float64(r.FinishedAt.UnixMilli() - r.StartedAt.UnixMilli()), "", true
	case strings.HasPrefix(key, db.KeyMetric):
		v, ok := r.Metrics[strings.TrimPrefix(key, db.KeyMetric)]
		return finite(v, ok)
	case strings.HasPrefix(key, db.KeyParam):
		switch v := r.Params[strings.TrimPrefix(key, db.KeyParam)].(type) {
		case int64:
			return finite(float64(v), true)
		case float64:
			return finite(v, true)
		}
		return 0, "", false
	case strings.HasPrefix(key, db.KeySeries):
		fn, name, _ := strings.Cut(strings.TrimPrefix(key, db.KeySeries), ":")
		s, ok := o.series[r.ID][name]
		v := map[string]float64{"min": s.Min, "max": s.Max, "last": s.Last, "count": float64(s.Count)}[fn]
		return finite(v, ok)
	}
	panic(key)
}

func TestSortedPagesAreTheSameOnBothAdapters(t *testing.T) {
	t0 := now()
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		o, runs := queryFixture(t, s, t0)
		for _, key := range []string{db.KeyMetric + "loss", db.KeyMetric + "acc", db.KeyParam + "lr", db.KeyParam + "seed",
			db.SeriesKey("min", "loss"), db.SeriesKey("count", "loss"), db.KeyName, db.KeyStarted, db.KeyDuration} {
			for _, desc := range []bool{false, true} {
				// The oracle's order.
				type entry struct {
					r   *db.Run
					num float64
					txt string
				}
				var valued, rest []entry
				for _, r := range runs {
					n, tx, ok := o.sortValueOf(r, key)
					if ok {
						valued = append(valued, entry{r, n, tx})
					} else {
						rest = append(rest, entry{r: r})
					}
				}
				sort.Slice(valued, func(i, j int) bool {
					a, b := valued[i], valued[j]
					less := a.num < b.num || (a.num == b.num && a.txt < b.txt) || (a.num == b.num && a.txt == b.txt && a.r.ID < b.r.ID)
					if desc {
						return !less && !(a.num == b.num && a.txt == b.txt && a.r.ID == b.r.ID)
					}
					return less
				})
				sort.Slice(rest, func(i, j int) bool { return rest[i].r.ID > rest[j].r.ID })
				want := []string{}
				for _, e := range append(valued, rest...) {
					want = append(want, e.r.ID)
				}
				// The store's pages.
				got := []string{}
				f := db.RunFilter{SortKey: key, SortDesc: desc}
				for {
					page, more, err := s.ListRuns(ctx(t), f, 5)
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					for _, r := range page {
						got = append(got, r.ID)
					}
					if !more {
						break
					}
					last := page[len(page)-1]
					n, tx, ok := o.sortValueOf(&last, key)
					f.After = &db.SortCursor{HasValue: ok, Num: n, Txt: tx, ID: last.ID}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("sort %s desc=%v:\n got %v\nwant %v", key, desc, names2(runs, got), names2(runs, want))
				}
			}
		}
		// A sorted page with a filter and a query.
		n, _ := query.Parse(`metrics.acc > 0.5`, t0)
		page, _, err := s.ListRuns(ctx(t), db.RunFilter{Project: "sweep-1", Query: n, QueryNow: t0, SortKey: db.KeyMetric + "acc", SortDesc: true}, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range page {
			if r.Project != "sweep-1" || r.Metrics["acc"] <= 0.5 || (i > 0 && r.Metrics["acc"] > page[i-1].Metrics["acc"]) {
				t.Fatalf("filtered sorted page: %v", names2(runs, []string{r.ID}))
			}
		}
	})
}

// names2 keeps the order (names sorts).
func names2(runs []*db.Run, ids []string) []string {
	out := []string{}
	for _, id := range ids {
		for _, r := range runs {
			if r.ID == id {
				out = append(out, r.ExternalID)
			}
		}
	}
	return out
}
