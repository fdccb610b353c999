package runs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"labreview/db"
)

func TestSavedViews(t *testing.T) {
	f := newFixture(t)
	me, you := person(db.RoleViewer), person(db.RoleViewer)
	for i, a := range []Actor{me, you} { // views belong to stored users
		if err := f.store.InsertUser(f.ctx(), &db.User{ID: a.UserID, Email: fmt.Sprint(i, "@lab.org"), Role: db.RoleViewer,
			CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, search string
		field, code  string
	}{
		{"", "q=x", "name", "required"},
		{"   ", "q=x", "name", "required"},
		{strings.Repeat("v", MaxViewNameLength+1), "", "name", "invalid"},
		{"tab\there", "", "name", "invalid"},
		{".", "", "name", "invalid"},
		{"a/../b", "", "name", "invalid"},
		{"runs/..", "", "name", "invalid"},
		{"ok", strings.Repeat("s", MaxViewSearchBytes+1), "search", "too_large"},
		{"ok", "q=a\nb", "search", "invalid"},
		{"ok", "q=\xff", "search", "invalid"},
	} {
		_, err := f.svc.SaveView(f.ctx(), me, c.name, c.search)
		wantInput(t, err, c.field, c.code)
	}
	// Names are trimmed; dots inside a part are fine.
	v, err := f.svc.SaveView(f.ctx(), me, "  Failed / v1.2..3  ", "q=status%3Dfailed")
	if err != nil || v.Name != "Failed / v1.2..3" || !v.UpdatedAt.Equal(t0) || v.UserID != me.UserID {
		t.Fatalf("saved %+v %v", v, err)
	}
	f.clock.advance(time.Minute + 1234*time.Microsecond)
	// Saving again under the same name replaces the search and the time.
	v, err = f.svc.SaveView(f.ctx(), me, "Failed / v1.2..3", "q=status%3Dcancelled")
	if err != nil || !v.UpdatedAt.Equal(f.clock.now().Truncate(time.Millisecond)) {
		t.Fatalf("saved again %+v %v", v, err)
	}
	if _, err := f.svc.SaveView(f.ctx(), you, "Failed / v1.2..3", ""); err != nil {
		t.Fatal(err)
	}
	mine, err := f.svc.SavedViews(f.ctx(), me)
	if err != nil || len(mine) != 1 || mine[0].Search != "q=status%3Dcancelled" {
		t.Fatalf("my views %+v %v", mine, err)
	}
	if err := f.svc.DeleteView(f.ctx(), me, " Failed / v1.2..3 "); err != nil {
		t.Fatalf("delete by the name as typed: %v", err)
	}
	if err := f.svc.DeleteView(f.ctx(), me, "Failed / v1.2..3"); !errors.Is(err, ErrNoSuchView) {
		t.Fatalf("delete again: %v", err)
	}
	if yours, _ := f.svc.SavedViews(f.ctx(), you); len(yours) != 1 {
		t.Fatalf("deleting my view touched yours: %+v", yours)
	}

	// At most MaxViewsPerUser each; replacing one at the limit is fine.
	for i := range MaxViewsPerUser {
		if _, err := f.svc.SaveView(f.ctx(), me, fmt.Sprint("view ", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.SaveView(f.ctx(), me, "one too many", ""); !errors.Is(err, ErrTooManyViews) {
		t.Fatalf("view %d: %v, want ErrTooManyViews", MaxViewsPerUser+1, err)
	}
	if _, err := f.svc.SaveView(f.ctx(), me, "view 7", "q=changed"); err != nil {
		t.Fatalf("replacing a view at the limit: %v", err)
	}
	if _, err := f.svc.SaveView(f.ctx(), you, "another", ""); err != nil {
		t.Fatalf("the limit is per user: %v", err)
	}
}

// TestKeysOfTheCallersProjects: names of live runs, of one project or of
// every project the caller reaches, by prefix.
func TestKeysOfTheCallersProjects(t *testing.T) {
	f := newFixture(t)
	f.create(reviewer, NewRun{Project: "p1", Params: []byte(`{"opt":{"lr":1},"seed":1}`), Metrics: db.Metrics{"loss": 1}})
	r2 := f.create(reviewer, NewRun{Project: "p2", Params: []byte(`{"batch":8}`), Metrics: db.Metrics{"acc": 1}})
	if _, err := f.svc.AppendSeries(f.ctx(), reviewer, r2.ID, map[string][]db.Point{"val_loss": points(1)}, nil); err != nil {
		t.Fatal(err)
	}
	gone := f.create(reviewer, NewRun{Project: "p3", Metrics: db.Metrics{"deleted_metric": 1}})
	if _, err := f.svc.Delete(f.ctx(), admin, gone.ID); err != nil {
		t.Fatal(err)
	}
	keys := func(a Actor, q KeysQuery) *db.RunKeys {
		t.Helper()
		k, err := f.svc.Keys(f.ctx(), a, q)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	same := func(got *db.RunKeys, params, metrics, series []string) bool {
		return slices.Equal(got.Params, params) && slices.Equal(got.Metrics, metrics) && slices.Equal(got.Series, series) && !got.Truncated
	}
	if k := keys(viewer, KeysQuery{}); !same(k, []string{"batch", "opt.lr", "seed"}, []string{"acc", "loss"}, []string{"val_loss"}) {
		t.Fatalf("every project: %+v", k)
	}
	if k := keys(viewer, KeysQuery{Project: "p1", Prefix: "o"}); !same(k, []string{"opt.lr"}, []string{}, []string{}) {
		t.Fatalf("p1 by prefix: %+v", k)
	}
	job := apiToken(db.RoleViewer, "p2", "p3")
	if k := keys(job, KeysQuery{}); !same(k, []string{"batch"}, []string{"acc"}, []string{"val_loss"}) {
		t.Fatalf("a token limited to p2 and p3: %+v", k)
	}
	if k := keys(job, KeysQuery{Project: "p1"}); !same(k, []string{}, []string{}, []string{}) {
		t.Fatalf("a token asking outside its projects: %+v", k)
	}
	for _, q := range []KeysQuery{{Prefix: strings.Repeat("p", MaxKeyPrefix+1)}, {Prefix: "\xff"}} {
		_, err := f.svc.Keys(f.ctx(), viewer, q)
		wantInput(t, err, "prefix", "invalid")
	}
	_, err := f.svc.Keys(f.ctx(), viewer, KeysQuery{Project: "p\n"})
	wantInput(t, err, "project", "invalid")
}
