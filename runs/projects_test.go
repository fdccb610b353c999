package runs

import (
	"encoding/json"
	"errors"
	"testing"

	"labreview/db"
)

func TestProjectsAreThoseTheCallerReaches(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"b", "a", "c", "a"} {
		f.create(reviewer, NewRun{Project: p})
	}
	names := func(a Actor) []string {
		ps, err := f.svc.Projects(f.ctx(), a)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	if got := names(viewer); len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("a person sees %v, want every project by name", got)
	}
	if got := names(apiToken(db.RoleReviewer, "c", "zz")); len(got) != 1 || got[0] != "c" {
		t.Fatalf("a limited token sees %v, want [c]", got)
	}
	if got := names(apiToken(db.RoleReviewer)); len(got) != 3 {
		t.Fatalf("an unlimited token sees %v", got)
	}
}

// TestBaselineRules: a baseline is an approved, live run of its project;
// clearing it is always possible; a token outside the project cannot
// touch it.
func TestBaselineRules(t *testing.T) {
	f := newFixture(t)
	approved := f.create(reviewer, NewRun{Project: "p"})
	f.review(reviewer, approved.ID, db.ReviewApproved, "")
	unreviewed := f.create(reviewer, NewRun{Project: "p"})
	rejected := f.create(reviewer, NewRun{Project: "p"})
	f.review(reviewer, rejected.ID, db.ReviewRejected, "no")
	elsewhere := f.create(reviewer, NewRun{Project: "q"})
	f.review(reviewer, elsewhere.ID, db.ReviewApproved, "")
	deleted := f.create(reviewer, NewRun{Project: "p"})
	f.review(reviewer, deleted.ID, db.ReviewApproved, "")
	if _, err := f.svc.Delete(f.ctx(), admin, deleted.ID); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"unreviewed": unreviewed.ID, "rejected": rejected.ID,
		"of another project": elsewhere.ID, "deleted": deleted.ID} {
		if err := f.svc.SetBaseline(f.ctx(), reviewer, "p", id); !errors.Is(err, ErrBaseline) {
			t.Errorf("a %s run as baseline: %v, want ErrBaseline", name, err)
		}
	}
	if err := f.svc.SetBaseline(f.ctx(), reviewer, "p", db.NewID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown run as baseline: %v", err)
	}
	if err := f.svc.SetBaseline(f.ctx(), reviewer, "nowhere", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("baseline of an unknown project: %v", err)
	}
	if err := f.svc.SetBaseline(f.ctx(), apiToken(db.RoleReviewer, "q"), "p", approved.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a token of another project: %v", err)
	}
	if p, _ := f.store.ProjectByName(f.ctx(), "p"); p.BaselineRun != "" {
		t.Fatalf("a refused baseline was stored: %q", p.BaselineRun)
	}

	if err := f.svc.SetBaseline(f.ctx(), reviewer, "p", approved.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.store.ProjectByName(f.ctx(), "p"); p.BaselineRun != approved.ID {
		t.Fatalf("baseline %q, want %q", p.BaselineRun, approved.ID)
	}
	if err := f.svc.SetBaseline(f.ctx(), reviewer, "p", ""); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.store.ProjectByName(f.ctx(), "p"); p.BaselineRun != "" {
		t.Fatalf("cleared baseline still %q", p.BaselineRun)
	}
	ev := f.events(EventBaselineSet)
	if len(ev) != 2 || ev[1].Details["project"] != "p" || ev[1].Details["after"].(map[string]any)["baseline_run"] != approved.ID ||
		ev[0].Details["after"].(map[string]any)["baseline_run"] != "" || ev[0].ActorID != reviewer.UserID {
		t.Fatalf("baseline_set events %+v", ev)
	}
}

// TestBaselineComparison: a run is compared with its project's baseline:
// params that differ, and per metric the delta and ratio (none where a
// side is missing, no ratio to a zero baseline).
func TestBaselineComparison(t *testing.T) {
	f := newFixture(t)
	base := f.create(reviewer, NewRun{Project: "p", Params: json.RawMessage(`{"lr":0.1,"seed":1}`),
		Metrics: db.Metrics{"loss": 2, "zero": 0, "gone": 1}})
	r := f.create(reviewer, NewRun{Project: "p", Params: json.RawMessage(`{"lr":0.2,"seed":1}`),
		Metrics: db.Metrics{"loss": 1, "zero": 3, "new": 5}})
	if cmp, err := f.svc.BaselineFor(f.ctx(), viewer, r); err != nil || cmp != nil {
		t.Fatalf("without a baseline: %+v %v", cmp, err)
	}
	f.review(reviewer, base.ID, db.ReviewApproved, "")
	if err := f.svc.SetBaseline(f.ctx(), reviewer, "p", base.ID); err != nil {
		t.Fatal(err)
	}
	if cmp, err := f.svc.BaselineFor(f.ctx(), viewer, f.get(base.ID)); err != nil || cmp != nil {
		t.Fatalf("the baseline compared with itself: %+v %v", cmp, err)
	}
	cmp, err := f.svc.BaselineFor(f.ctx(), viewer, r)
	if err != nil || cmp == nil {
		t.Fatalf("comparison: %+v %v", cmp, err)
	}
	got, _ := json.Marshal(map[string]any{"run": cmp.Run.ID, "approved": cmp.Approved, "params": cmp.Params, "metrics": cmp.Metrics})
	want := `{"approved":true,"metrics":[` +
		`{"Name":"gone","Run":null,"Baseline":1,"Delta":null,"Ratio":null},` +
		`{"Name":"loss","Run":1,"Baseline":2,"Delta":-1,"Ratio":0.5},` +
		`{"Name":"new","Run":5,"Baseline":null,"Delta":null,"Ratio":null},` +
		`{"Name":"zero","Run":3,"Baseline":0,"Delta":3,"Ratio":null}],` +
		`"params":[{"Name":"lr","Before":0.1,"After":0.2}],"run":"` + base.ID + `"}`
	if string(got) != want {
		t.Fatalf("comparison\n got %s\nwant %s", got, want)
	}
	// A later verdict does not remove the baseline, but says it is no
	// longer approved.
	f.review(reviewer, base.ID, db.ReviewRejected, "bug found")
	if cmp, err := f.svc.BaselineFor(f.ctx(), viewer, r); err != nil || cmp == nil || cmp.Approved {
		t.Fatalf("a rejected baseline: %+v %v", cmp, err)
	}
	// A token outside the baseline's project gets no comparison.
	other := f.create(reviewer, NewRun{Project: "p"})
	if cmp, err := f.svc.BaselineFor(f.ctx(), apiToken(db.RoleViewer, "q"), other); err != nil || cmp != nil {
		t.Fatalf("a token that cannot read the baseline: %+v %v", cmp, err)
	}
}
