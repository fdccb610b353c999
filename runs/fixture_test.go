package runs

// The fixture of the runs tests: a Service on a fresh embedded store (a
// real SQLite database in a temporary folder: the rules are tested against
// real storage, and a fresh store opens in milliseconds) with a clock that
// moves only when a test moves it.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"labreview/auth/policy"
	"labreview/db"
	"labreview/db/dbtest"
)

// t0 is the fixture clock's start, at the stores' precision (milliseconds).
var t0 = time.Date(2031, 3, 4, 9, 30, 0, 0, time.UTC)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

type fixture struct {
	t     *testing.T
	svc   *Service
	store db.Store
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	return newFixtureConfig(t, Config{})
}

func newFixtureConfig(t *testing.T, cfg Config) *fixture {
	t.Helper()
	store := dbtest.SQLite(t)
	c := &clock{t: t0}
	return &fixture{t: t, store: store, clock: c,
		svc: New(store, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), c.now)}
}

func (f *fixture) ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	f.t.Cleanup(cancel)
	return c
}

// person is a signed-in user of role.
func person(role string) Actor {
	return Actor{UserID: db.NewID(), SessionID: db.NewID(), Access: policy.Subject{Role: role},
		IP: "192.0.2.7", UserAgent: "fixture-browser"}
}

// apiToken is an API token of a user of role with every scope the role
// allows, limited to projects (none: every project).
func apiToken(role string, projects ...string) Actor {
	return Actor{UserID: db.NewID(), TokenID: db.NewID(), IP: "192.0.2.8", UserAgent: "fixture-job",
		Access: policy.Subject{Role: role, Token: true, Scopes: policy.ScopesOf(role), Projects: projects}}
}

var (
	admin    = person(db.RoleAdmin)
	reviewer = person(db.RoleReviewer)
	viewer   = person(db.RoleViewer)
)

// create stores a run and fails the test on error.
func (f *fixture) create(a Actor, in NewRun) *db.Run {
	f.t.Helper()
	r, created, err := f.svc.Create(f.ctx(), a, in)
	if err != nil || !created {
		f.t.Fatalf("create %+v: created %v, %v", in, created, err)
	}
	return r
}

func (f *fixture) update(a Actor, id string, p Patch) *db.Run {
	f.t.Helper()
	r, err := f.svc.Update(f.ctx(), a, id, p)
	if err != nil {
		f.t.Fatalf("update %s: %v", id, err)
	}
	return r
}

func (f *fixture) review(a Actor, id, state, comment string) *db.Run {
	f.t.Helper()
	r, err := f.svc.Review(f.ctx(), a, id, Verdict{State: state, Comment: comment})
	if err != nil {
		f.t.Fatalf("review %s %s: %v", id, state, err)
	}
	return r
}

func (f *fixture) get(id string) *db.Run {
	f.t.Helper()
	r, err := f.store.RunByID(f.ctx(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// events lists the audit events of a kind, newest first.
func (f *fixture) events(event string) []db.AuditEvent {
	f.t.Helper()
	list, _, err := f.store.ListAudit(f.ctx(), db.AuditFilter{Event: event}, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// wantInput fails unless err is an InputError about field with code.
func wantInput(t *testing.T, err error, field, code string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an InputError about %s", err, field)
	}
	if ie.Field != field || ie.Code != code {
		t.Fatalf("InputError %s/%s (%s), want %s/%s", ie.Field, ie.Code, ie.Message, field, code)
	}
}

func ptr[T any](v T) *T { return &v }

// fmtTime is the time a pointer holds ("nil" for none), for messages.
func fmtTime(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.UTC().Format(time.RFC3339Nano)
}

func sameTime(p *time.Time, want *time.Time) bool {
	if p == nil || want == nil {
		return p == nil && want == nil
	}
	return p.Equal(*want)
}
