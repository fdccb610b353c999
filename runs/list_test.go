package runs

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/query"
)

// walk lists every page of q and returns the ids in order, checking each
// page's size and total.
func (f *fixture) walk(a Actor, q ListQuery, wantTotal int64, wantExact bool) []string {
	f.t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			f.t.Fatal("the pages do not end")
		}
		page, err := f.svc.List(f.ctx(), a, q)
		if err != nil {
			f.t.Fatalf("list %+v: %v", q, err)
		}
		if page.Total != wantTotal || page.TotalExact != wantExact {
			f.t.Fatalf("list %+v: total %d (exact %v), want %d (exact %v)", q, page.Total, page.TotalExact, wantTotal, wantExact)
		}
		limit := q.Limit
		if limit == 0 {
			limit = DefaultPageSize
		}
		if len(page.Runs) > limit || (page.Next != "" && len(page.Runs) != limit) {
			f.t.Fatalf("a page of %d runs (limit %d) with next %q", len(page.Runs), limit, page.Next)
		}
		for _, r := range page.Runs {
			ids = append(ids, r.ID)
		}
		if page.Next == "" {
			return ids
		}
		q.Cursor = page.Next
	}
}

func idsOf(runs ...*db.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func newestFirst(runs ...*db.Run) []string {
	ids := idsOf(runs...)
	slices.Reverse(ids)
	return ids
}

func TestListPagesNewestFirst(t *testing.T) {
	f := newFixture(t)
	var made []*db.Run
	for i := range 52 {
		made = append(made, f.create(reviewer, NewRun{Project: "p", ExternalID: fmt.Sprint(i)}))
	}
	f.create(reviewer, NewRun{Project: "other"})
	want := newestFirst(made...)
	// The default page holds 50.
	page, err := f.svc.List(f.ctx(), viewer, ListQuery{Project: "p"})
	if err != nil || len(page.Runs) != DefaultPageSize || page.Next != want[DefaultPageSize-1] {
		t.Fatalf("default page: %d runs, next %q, %v", len(page.Runs), page.Next, err)
	}
	for _, limit := range []int{1, 20, 52, MaxPageSize} {
		if got := f.walk(viewer, ListQuery{Project: "p", Limit: limit}, 52, true); !slices.Equal(got, want) {
			t.Fatalf("limit %d: pages gave %d runs out of order or with repeats", limit, len(got))
		}
	}
	if got := f.walk(viewer, ListQuery{Limit: 7}, 53, true); len(got) != 53 {
		t.Fatalf("every project: %d runs, want 53", len(got))
	}
}

func TestListRefusesBadQueries(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name  string
		q     ListQuery
		field string
	}{
		{"negative limit", ListQuery{Limit: -1}, "limit"},
		{"limit too large", ListQuery{Limit: MaxPageSize + 1}, "limit"},
		{"project with spaces around", ListQuery{Project: " p"}, "project"},
		{"a cursor not given out", ListQuery{Cursor: "page-2"}, "cursor"},
		{"a plain cursor on a sorted list", ListQuery{Sort: "name", Cursor: db.NewID()}, "cursor"},
		{"a sorted cursor not base64", ListQuery{Sort: "name", Cursor: "s.!!"}, "cursor"},
		{"an unknown sort", ListQuery{Sort: "colour"}, "sort"},
		{"a sort by a text field", ListQuery{Sort: "host"}, "sort"},
		{"an unknown verdict", ListQuery{Review: "maybe"}, "review"},
		{"status and review together", ListQuery{Status: db.StatusFailed, Review: db.ReviewApproved}, "review"},
		{"an unknown status", ListQuery{Status: "done"}, "status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.List(f.ctx(), viewer, c.q)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != c.field {
				t.Fatalf("got %v, want an InputError about %s", err, c.field)
			}
		})
	}
	// A cursor of one sort is refused by another.
	for range 3 {
		f.create(reviewer, NewRun{Project: "p"})
	}
	page, err := f.svc.List(f.ctx(), viewer, ListQuery{Sort: "name", Limit: 1})
	if err != nil || page.Next == "" {
		t.Fatalf("sorted page: %+v %v", page, err)
	}
	for _, other := range []string{"-name", "created", "metrics.loss"} {
		_, err := f.svc.List(f.ctx(), viewer, ListQuery{Sort: other, Cursor: page.Next})
		wantInput(t, err, "cursor", "invalid")
	}
	// A query that does not parse says where.
	_, err = f.svc.List(f.ctx(), viewer, ListQuery{Q: "status = done"})
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Column != 1 {
		t.Fatalf("bad query: %v", err)
	}
}

// listFixture: runs of every kind in project p, and one in q.
type listFixture struct {
	*fixture
	queued, alive, quiet, approved, outdated, deleted, other *db.Run
}

func newListFixture(t *testing.T) *listFixture {
	f := &listFixture{fixture: newFixtureConfig(t, Config{StaleAfter: 10 * time.Minute})}
	f.quiet = f.create(reviewer, NewRun{Project: "p", Status: db.StatusRunning})
	f.queued = f.create(reviewer, NewRun{Project: "p"})
	f.approved = f.create(reviewer, NewRun{Project: "p", Status: db.StatusSucceeded})
	f.review(reviewer, f.approved.ID, db.ReviewApproved, "")
	f.outdated = f.create(reviewer, NewRun{Project: "p", Status: db.StatusFailed, Metrics: db.Metrics{"loss": 1}})
	f.review(reviewer, f.outdated.ID, db.ReviewRejected, "diverged")
	f.update(reviewer, f.outdated.ID, Patch{Metrics: db.Metrics{"loss": 2}})
	f.deleted = f.create(reviewer, NewRun{Project: "p", Status: db.StatusFailed})
	if _, err := f.svc.Delete(f.ctx(), admin, f.deleted.ID); err != nil {
		t.Fatal(err)
	}
	f.other = f.create(reviewer, NewRun{Project: "q", Status: db.StatusFailed})
	f.clock.advance(15 * time.Minute)
	f.alive = f.create(reviewer, NewRun{Project: "p", Status: db.StatusRunning})
	return f
}

func TestListFiltersAndTheirTotals(t *testing.T) {
	f := newListFixture(t)
	cases := []struct {
		name  string
		q     ListQuery
		want  []*db.Run // newest first
		total int64
		exact bool
	}{
		{"live runs of p", ListQuery{Project: "p"}, []*db.Run{f.alive, f.outdated, f.approved, f.queued, f.quiet}, 5, true},
		{"every project", ListQuery{}, []*db.Run{f.alive, f.other, f.outdated, f.approved, f.queued, f.quiet}, 6, true},
		{"failed, every project", ListQuery{Status: db.StatusFailed}, []*db.Run{f.other, f.outdated}, 2, true},
		{"failed in p: the deleted one is not listed", ListQuery{Project: "p", Status: db.StatusFailed}, []*db.Run{f.outdated}, 1, true},
		{"running", ListQuery{Status: db.StatusRunning}, []*db.Run{f.alive, f.quiet}, 2, true},
		// Stale runs are counted by the running ones: an estimate.
		{"stale", ListQuery{Project: "p", Status: StatusStale}, []*db.Run{f.quiet}, 2, false},
		{"approved", ListQuery{Review: db.ReviewApproved}, []*db.Run{f.approved}, 1, true},
		{"rejected (outdated or not)", ListQuery{Review: db.ReviewRejected}, []*db.Run{f.outdated}, 1, true},
		{"outdated", ListQuery{Review: db.ReviewOutdated}, []*db.Run{f.outdated}, 1, true},
		{"unreviewed", ListQuery{Project: "p", Review: db.ReviewUnreviewed}, []*db.Run{f.alive, f.queued, f.quiet}, 3, true},
		{"deleted", ListQuery{Deleted: true}, []*db.Run{f.deleted}, 1, true},
		{"an unknown project", ListQuery{Project: "nobody"}, nil, 0, true},
		// With a query the total is the other filters': an upper bound.
		{"a query", ListQuery{Project: "p", Q: "metrics.loss > 1"}, []*db.Run{f.outdated}, 5, false},
		// The query sees the service's clock: for created and for stale.
		{"a time ago", ListQuery{Q: "created > -10m"}, []*db.Run{f.alive}, 6, false},
		{"stale in a query", ListQuery{Q: "status = stale"}, []*db.Run{f.quiet}, 6, false},
		// ... and for the duration of unfinished runs.
		{"the duration of a running run", ListQuery{Q: "duration > 10m"}, []*db.Run{f.quiet}, 6, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := f.walk(viewer, ListQuery{Project: c.q.Project, Status: c.q.Status, Review: c.q.Review, Deleted: c.q.Deleted,
				Q: c.q.Q, Limit: 2}, c.total, c.exact)
			if want := idsOf(c.want...); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// TestListOfALimitedToken: a token limited to some projects sees their
// runs only, merged newest first across pages, and counts only them; a
// project outside them lists nothing.
func TestListOfALimitedToken(t *testing.T) {
	f := newFixture(t)
	byProject := map[string][]*db.Run{}
	var want []*db.Run // of p1 and p3, oldest first
	for i := range 12 {
		p := []string{"p1", "p2", "p3"}[i%3]
		if i == 10 {
			p = "p3" // uneven pages
		}
		// Names fall as the runs get newer.
		r := f.create(reviewer, NewRun{Project: p, Name: fmt.Sprintf("run %02d", 11-i)})
		byProject[p] = append(byProject[p], r)
		if p != "p2" {
			want = append(want, r)
		}
	}
	job := apiToken(db.RoleViewer, "p1", "p3")
	for _, limit := range []int{1, 3, 100} {
		if got := f.walk(job, ListQuery{Limit: limit}, int64(len(want)), true); !slices.Equal(got, newestFirst(want...)) {
			t.Fatalf("limit %d: got %v, want %v", limit, got, newestFirst(want...))
		}
	}
	// Sorted by name (ascending = the newest first here, by construction).
	if got := f.walk(job, ListQuery{Sort: "name", Limit: 2}, int64(len(want)), true); !slices.Equal(got, newestFirst(want...)) {
		t.Fatalf("sorted by name: got %v", got)
	}
	page, err := f.svc.List(f.ctx(), job, ListQuery{Project: "p2"})
	if err != nil || len(page.Runs) != 0 || page.Total != 0 || page.Next != "" {
		t.Fatalf("a project outside the token: %+v %v", page, err)
	}
	if got := f.walk(job, ListQuery{Project: "p3", Limit: 2}, int64(len(byProject["p3"])), true); !slices.Equal(got, newestFirst(byProject["p3"]...)) {
		t.Fatalf("one of its projects: %v", got)
	}
}

// TestSortedPages: runs with a value come first in the order asked (ties
// by id in the same direction), those without one follow newest first;
// cursors carry on across both groups.
func TestSortedPages(t *testing.T) {
	f := newFixture(t)
	mk := func(name string, metrics db.Metrics, params string) *db.Run {
		f.clock.advance(time.Minute)
		var raw []byte
		if params != "" {
			raw = []byte(params)
		}
		return f.create(reviewer, NewRun{Project: "p", Name: name, Metrics: metrics, Params: raw, Status: db.StatusRunning})
	}
	b := mk("b", db.Metrics{"loss": 3}, `{"opt":{"lr":0.3}}`)
	nan := mk("d", db.Metrics{"loss": math.NaN()}, `{"opt":{"lr":"high"}}`)
	a := mk("a", db.Metrics{"loss": 1}, `{"opt":{"lr":0.1}}`)
	none := mk("c", nil, ``)
	tie := mk("e", db.Metrics{"loss": 3}, `{"opt":{"lr":0.3}}`)
	inf := mk("f", db.Metrics{"loss": math.Inf(1)}, `{"opt":{"lr":2}}`)
	// Durations: b 10 min, a 1 min, tie 5 min; the others never finish.
	for _, d := range []struct {
		r   *db.Run
		min int
	}{{b, 10}, {a, 1}, {tie, 5}} {
		end := d.r.StartedAt.Add(time.Duration(d.min) * time.Minute)
		f.clock.t = end
		f.update(reviewer, d.r.ID, Patch{Status: ptr(db.StatusSucceeded)})
	}
	for _, series := range []struct {
		r    *db.Run
		last float64
	}{{a, 5}, {b, -1}, {nan, 2}} {
		if _, err := f.svc.AppendSeries(f.ctx(), reviewer, series.r.ID, map[string][]db.Point{"val": {{Step: 0, Value: 9}, {Step: 7, Value: series.last}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		sort string
		want []*db.Run
	}{
		{"metrics.loss", []*db.Run{a, b, tie, inf, none, nan}},
		{"-metrics.loss", []*db.Run{tie, b, a, inf, none, nan}},
		{"params.opt.lr", []*db.Run{a, b, tie, inf, none, nan}},
		{"-params.opt.lr", []*db.Run{inf, tie, b, a, none, nan}},
		{"name", []*db.Run{a, b, none, nan, tie, inf}},
		{"-name", []*db.Run{inf, tie, nan, none, b, a}},
		{"created", []*db.Run{b, nan, a, none, tie, inf}},
		{"-created", []*db.Run{inf, tie, none, a, nan, b}},
		{"duration", []*db.Run{a, tie, b, inf, none, nan}},
		{"last(val)", []*db.Run{b, nan, a, inf, tie, none}},
		{"-max(val)", []*db.Run{a, nan, b, inf, tie, none}},
	}
	for _, c := range cases {
		for _, limit := range []int{1, 4, 10} {
			got := f.walk(viewer, ListQuery{Project: "p", Sort: c.sort, Limit: limit}, 6, true)
			if want := idsOf(c.want...); !slices.Equal(got, want) {
				names := func(ids []string) string {
					var out []string
					for _, id := range ids {
						out = append(out, f.get(id).Name)
					}
					return strings.Join(out, " ")
				}
				t.Fatalf("sort %s, limit %d: got %s, want %s", c.sort, limit, names(got), names(want))
			}
		}
	}
}

// TestQueryIDsIsBounded: a bulk review by query takes at most
// MaxBulkReview runs; more is an error that says to narrow the query.
func TestQueryIDsIsBounded(t *testing.T) {
	f := newFixture(t)
	// Straight into the store, as one import (one transaction): the rule
	// is about the count, not creation.
	i := 0
	_, err := f.store.ImportRecords(f.ctx(), func() (db.Record, error) {
		if i > MaxBulkReview {
			return db.Record{}, io.EOF
		}
		r := &db.Run{ID: db.NewID(), Project: "p", ExternalID: fmt.Sprint(i), Name: fmt.Sprint(i), Status: db.StatusQueued,
			Params: map[string]any{}, Metrics: db.Metrics{"i": float64(i)}, Tags: []string{}, CreatedAt: t0, UpdatedAt: t0, Version: 1, DataVersion: 1}
		i++
		return db.Record{Kind: db.KindRun, Run: r}, nil
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.QueryIDs(f.ctx(), reviewer, "project = p")
	wantInput(t, err, "q", "too_large")
	ids, err := f.svc.QueryIDs(f.ctx(), reviewer, "metrics.i >= 1")
	if err != nil || len(ids) != MaxBulkReview {
		t.Fatalf("%d ids, %v; want %d", len(ids), err, MaxBulkReview)
	}
	if ids, err := f.svc.QueryIDs(f.ctx(), reviewer, "metrics.i < 3"); err != nil || len(ids) != 3 {
		t.Fatalf("a narrow query: %v %v", ids, err)
	}
}

// TestSeriesSummaryField: a summary column's key is the query language's
// field, bare or quoted; anything else is not a summary.
func TestSeriesSummaryField(t *testing.T) {
	for _, tc := range []struct{ text, fn, name string }{
		{"last(loss)", "last", "loss"},
		{"min(val.loss)", "min", "val.loss"},
		{`max("train/loss")`, "max", "train/loss"},
		{`count('acc@5')`, "count", "acc@5"},
	} {
		fn, name, ok := SeriesSummaryField(tc.text)
		if !ok || fn != tc.fn || name != tc.name {
			t.Errorf("%s: %q %q %v", tc.text, fn, name, ok)
		}
	}
	for _, text := range []string{"metrics.loss", "params.lr", "median(loss)", "last(loss) > 1", "last(", "name"} {
		if fn, name, ok := SeriesSummaryField(text); ok {
			t.Errorf("%s read as %s(%s)", text, fn, name)
		}
	}
}

// TestSummaryNamesAreBounded: the series a page summarises are checked
// like series names, counted once each, and at most MaxSummaryNames.
func TestSummaryNamesAreBounded(t *testing.T) {
	got, err := summaryNames([]string{"loss", "val/loss", "loss"})
	if err != nil || !slices.Equal(got, []string{"loss", "val/loss"}) {
		t.Fatalf("%v, %v", got, err)
	}
	many := make([]string, 0, MaxSummaryNames+1)
	for i := range MaxSummaryNames + 1 {
		many = append(many, fmt.Sprintf("s%d", i))
	}
	if _, err := summaryNames(many[:MaxSummaryNames]); err != nil {
		t.Errorf("%d names: %v", MaxSummaryNames, err)
	}
	for _, bad := range [][]string{many, {"ok", "bad\x00"}, {""}} {
		var ie *InputError
		if _, err := summaryNames(bad); !errors.As(err, &ie) || ie.Field != "summaries" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
