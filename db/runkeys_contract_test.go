package db_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// keysOf lists the names of project (db.AllProjects: of all) with prefix.
func keysOf(t *testing.T, s db.Store, project, prefix string, limit int) *db.RunKeys {
	t.Helper()
	k, err := s.ListRunKeys(ctx(t), project, prefix, limit)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantKeys(t *testing.T, s db.Store, project, prefix string, params, metrics, series []string) {
	t.Helper()
	got := keysOf(t, s, project, prefix, db.RunKeysLimit)
	want := &db.RunKeys{Params: params, Metrics: metrics, Series: series}
	for _, l := range []*[]string{&want.Params, &want.Metrics, &want.Series} {
		if *l == nil {
			*l = []string{}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("keys of %q with prefix %q:\n got %+v\nwant %+v", project, prefix, got, want)
	}
}

func TestRunKeysFollowRunWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		wantKeys(t, s, db.AllProjects, "", nil, nil, nil)

		a := newRun("alpha", "1", now())
		a.Params = map[string]any{"lr": 0.1, "opt": map[string]any{"name": "adam", "betas": []any{0.9, 0.99}, "extra": map[string]any{}},
			"none": nil}
		a.Metrics = db.Metrics{"loss": 0.5}
		a, _, err := s.CreateRun(ctx(t), a)
		if err != nil {
			t.Fatal(err)
		}
		b := newRun("alpha", "2", now())
		b.Params = map[string]any{"lr": 0.2}
		b.Metrics = db.Metrics{"acc": 0.9}
		if b, _, err = s.CreateRun(ctx(t), b); err != nil {
			t.Fatal(err)
		}
		c := newRun("beta", "1", now())
		c.Params = map[string]any{"seed": int64(3)}
		c.Metrics = db.Metrics{"acc": 0.8}
		if c, _, err = s.CreateRun(ctx(t), c); err != nil {
			t.Fatal(err)
		}
		// Paths of objects are no names (an empty one is: nothing is below it).
		wantKeys(t, s, "alpha", "", []string{"lr", "none", "opt.betas", "opt.extra", "opt.name"}, []string{"acc", "loss"}, nil)
		wantKeys(t, s, "beta", "", []string{"seed"}, []string{"acc"}, nil)
		wantKeys(t, s, db.AllProjects, "", []string{"lr", "none", "opt.betas", "opt.extra", "opt.name", "seed"}, []string{"acc", "loss"}, nil)
		wantKeys(t, s, "gamma", "", nil, nil, nil)

		// A create that finds its run counts nothing again.
		if _, created, err := s.CreateRun(ctx(t), newRun("alpha", "2", now())); err != nil || created {
			t.Fatalf("repeated create: %v %v", created, err)
		}

		// Series: a new one counts once, however often it is written.
		for range 2 {
			if _, err := s.WriteSeries(ctx(t), a.ID, map[string][]db.Point{"train/loss": {{Step: 0, Value: 1}}, "lr": {{Step: 0, Value: 2}}}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.WriteSeries(ctx(t), a.ID, map[string][]db.Point{"train/loss": {{Step: 1, Value: 1}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteSeries(ctx(t), b.ID, map[string][]db.Point{"lr": {{Step: 0, Value: 2}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "alpha", "", []string{"lr", "none", "opt.betas", "opt.extra", "opt.name"}, []string{"acc", "loss"}, []string{"lr", "train/loss"})
		wantKeys(t, s, db.AllProjects, "", []string{"lr", "none", "opt.betas", "opt.extra", "opt.name", "seed"}, []string{"acc", "loss"}, []string{"lr", "train/loss"})

		// A change of params and metrics moves the names; a name another
		// live run still has stays.
		if _, _, err := s.UpdateRun(ctx(t), a.ID, now(), func(r *db.Run) error {
			r.Params = map[string]any{"lr": 0.3, "opt": map[string]any{"name": "sgd", "extra": map[string]any{"x": true}}}
			r.Metrics["val"] = 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "alpha", "", []string{"lr", "opt.extra.x", "opt.name"}, []string{"acc", "loss", "val"}, []string{"lr", "train/loss"})

		// Deleting a run takes its names away (series included) unless
		// another live run has them; restoring gives them back.
		gone := now()
		if _, _, err := s.UpdateRun(ctx(t), a.ID, now(), func(r *db.Run) error { r.DeletedAt = &gone; return nil }); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "alpha", "", []string{"lr"}, []string{"acc"}, []string{"lr"})
		wantKeys(t, s, db.AllProjects, "", []string{"lr", "seed"}, []string{"acc"}, []string{"lr"})
		// A deleted run's series counts nothing when it is written.
		if _, err := s.WriteSeries(ctx(t), a.ID, map[string][]db.Point{"grad": {{Step: 0, Value: 1}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "alpha", "", []string{"lr"}, []string{"acc"}, []string{"lr"})
		// Changing a deleted run moves nothing either.
		if _, _, err := s.UpdateRun(ctx(t), a.ID, now(), func(r *db.Run) error { r.Metrics["late"] = 2; return nil }); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "alpha", "", []string{"lr"}, []string{"acc"}, []string{"lr"})
		if _, _, err := s.UpdateRun(ctx(t), a.ID, now(), func(r *db.Run) error { r.DeletedAt = nil; return nil }); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "alpha", "", []string{"lr", "opt.extra.x", "opt.name"}, []string{"acc", "late", "loss", "val"}, []string{"grad", "lr", "train/loss"})

		// The last run of a project goes: the project has no names left.
		if _, _, err := s.UpdateRun(ctx(t), c.ID, now(), func(r *db.Run) error { r.DeletedAt = &gone; return nil }); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, s, "beta", "", nil, nil, nil)
		wantKeys(t, s, db.AllProjects, "", []string{"lr", "opt.extra.x", "opt.name"}, []string{"acc", "late", "loss", "val"}, []string{"grad", "lr", "train/loss"})
	})
}

func TestRunKeysPrefixAndLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		r := newRun("alpha", "1", now())
		r.Params = map[string]any{"opt": map[string]any{"lr": 1.0, "name": "adam"}, "optimizer": "x", "op": 1.0,
			"λ": 1.0, "λx": 2.0, "μ": 3.0, "z\U0010FFFF": 1.0, "z\U0010FFFFa": 1.0, "za": 1.0}
		r.Metrics = db.Metrics{"opt_loss": 1, "loss": 2}
		r, _, err := s.CreateRun(ctx(t), r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteSeries(ctx(t), r.ID, map[string][]db.Point{"opt/grad": {{Step: 0, Value: 1}}, "loss": {{Step: 0, Value: 1}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		// The prefix applies to each kind, byte for byte (case counts).
		wantKeys(t, s, "alpha", "opt", []string{"opt.lr", "opt.name", "optimizer"}, []string{"opt_loss"}, []string{"opt/grad"})
		wantKeys(t, s, "alpha", "opt.", []string{"opt.lr", "opt.name"}, nil, nil)
		wantKeys(t, s, db.AllProjects, "opt.n", []string{"opt.name"}, nil, nil)
		wantKeys(t, s, "alpha", "Opt", nil, nil, nil)
		wantKeys(t, s, "alpha", "λ", []string{"λ", "λx"}, nil, nil)
		wantKeys(t, s, "alpha", "z\U0010FFFF", []string{"z\U0010FFFF", "z\U0010FFFFa"}, nil, nil)
		wantKeys(t, s, "alpha", "nope", nil, nil, nil)

		// The limit cuts each kind, in order, and says so.
		k := keysOf(t, s, "alpha", "", 3)
		if !k.Truncated || !reflect.DeepEqual(k.Params, []string{"op", "opt.lr", "opt.name"}) ||
			!reflect.DeepEqual(k.Metrics, []string{"loss", "opt_loss"}) || !reflect.DeepEqual(k.Series, []string{"loss", "opt/grad"}) {
			t.Fatalf("limit 3: %+v", k)
		}
		if k := keysOf(t, s, "alpha", "opt", 3); k.Truncated || len(k.Params) != 3 {
			t.Fatalf("exactly the limit is not truncated: %+v", k)
		}
		// Many runs with the same names: the list holds each once.
		for i := range 30 {
			more := newRun("alpha", fmt.Sprint("m", i), now())
			more.Params = map[string]any{"op": float64(i)}
			if _, _, err := s.CreateRun(ctx(t), more); err != nil {
				t.Fatal(err)
			}
		}
		if k := keysOf(t, s, db.AllProjects, "op", 10); !reflect.DeepEqual(k.Params, []string{"op", "opt.lr", "opt.name", "optimizer"}) {
			t.Fatalf("names of many runs: %+v", k)
		}
	})
}
