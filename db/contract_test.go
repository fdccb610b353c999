package db_test

// The store contract: one table of behaviours every adapter must show. Each
// test runs once on SQLite and once on the FerretDB stand-in for MongoDB.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// now is a time at the stores' precision (milliseconds), in UTC.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func newUser(email, role string) *db.User {
	t := now()
	return &db.User{ID: db.NewID(), Email: email, Name: "N " + email, Role: role, PasswordHash: "$argon2id$h-" + email,
		CreatedAt: t, UpdatedAt: t, PasswordChangedAt: t}
}

func newSession(id, userID string, at time.Time) *db.Session {
	return &db.Session{ID: id, UserID: userID, SecretHash: "h0", OldHashes: []string{}, CreatedAt: at, LastUsedAt: at,
		IdleExpiresAt: at.Add(time.Hour), ExpiresAt: at.Add(24 * time.Hour), UserAgent: "ua", IP: "192.0.2.1"}
}

func newToken(userID, hash string, at time.Time) *db.APIToken {
	return &db.APIToken{ID: db.NewID(), UserID: userID, Name: "job " + hash, Hash: hash, Hint: "abcd",
		Scopes: []string{"runs:read", "runs:write"}, Projects: []string{}, CreatedAt: at, ExpiresAt: at.Add(30 * 24 * time.Hour)}
}

func TestUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		u := newUser("a@lab.org", db.RoleAdmin)
		if err := s.InsertUser(ctx(t), u); err != nil {
			t.Fatal(err)
		}
		got, err := s.UserByID(ctx(t), u.ID)
		if err != nil || !reflect.DeepEqual(got, u) {
			t.Fatalf("UserByID: %+v, %v; want %+v", got, err, u)
		}
		if got, err := s.UserByEmail(ctx(t), "a@lab.org"); err != nil || got.ID != u.ID {
			t.Fatalf("UserByEmail: %v %v", got, err)
		}
		// Uniqueness of the email, byte for byte, in both adapters.
		if err := s.InsertUser(ctx(t), newUser("a@lab.org", db.RoleViewer)); !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate email: got %v, want ErrConflict", err)
		}
		for _, other := range []string{"A@lab.org", "a@lab.org ", "á@lab.org"} {
			if _, err := s.UserByEmail(ctx(t), other); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("UserByEmail(%q) matched a@lab.org: %v", other, err)
			}
		}
		if err := s.InsertUser(ctx(t), newUser("á@lab.org", db.RoleViewer)); err != nil {
			t.Fatalf("a different address: %v", err)
		}
		for _, id := range []string{db.NewID(), "not-an-id", ""} {
			if _, err := s.UserByID(ctx(t), id); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("UserByID(%q): got %v, want ErrNotFound", id, err)
			}
		}
		list, err := s.ListUsers(ctx(t))
		if err != nil || len(list) != 2 || list[0].Email != "a@lab.org" || list[1].Email != "á@lab.org" {
			t.Fatalf("ListUsers: %+v %v", list, err)
		}
	})
}

func TestUpdateAndDeleteUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		u := newUser("b@lab.org", db.RoleViewer)
		if err := s.InsertUser(ctx(t), u); err != nil {
			t.Fatal(err)
		}
		role, name, hash := db.RoleAdmin, "Bea", "$argon2id$new"
		at := now().Add(time.Minute)
		before, after, err := s.UpdateUser(ctx(t), u.ID, db.UserChange{Role: &role, Name: &name, PasswordHash: &hash}, at)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, u) {
			t.Fatalf("before %+v, want %+v", before, u)
		}
		want := *u
		want.Role, want.Name, want.PasswordHash, want.UpdatedAt, want.PasswordChangedAt = role, name, hash, at, at
		if !reflect.DeepEqual(after, &want) {
			t.Fatalf("after %+v, want %+v", after, &want)
		}
		if stored, _ := s.UserByID(ctx(t), u.ID); !reflect.DeepEqual(stored, &want) {
			t.Fatalf("stored %+v, want %+v", stored, &want)
		}
		if _, _, err := s.UpdateUser(ctx(t), db.NewID(), db.UserChange{Role: &role}, at); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("update of a missing user: %v", err)
		}
		// The hash is swapped only while it is the expected one.
		if ok, err := s.ReplacePasswordHash(ctx(t), u.ID, "stale", "x"); ok || err != nil {
			t.Fatalf("replaced a stale hash: %v %v", ok, err)
		}
		if ok, err := s.ReplacePasswordHash(ctx(t), u.ID, hash, "rehashed"); !ok || err != nil {
			t.Fatalf("replace: %v %v", ok, err)
		}
		gone, err := s.DeleteUser(ctx(t), u.ID)
		if err != nil || gone.PasswordHash != "rehashed" {
			t.Fatalf("DeleteUser: %+v %v", gone, err)
		}
		if _, err := s.DeleteUser(ctx(t), u.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestCountActiveAdmins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		a1, a2 := newUser("a1@lab.org", db.RoleAdmin), newUser("a2@lab.org", db.RoleAdmin)
		off := newUser("a3@lab.org", db.RoleAdmin)
		off.Disabled = true
		for _, u := range []*db.User{a1, a2, off, newUser("v@lab.org", db.RoleViewer)} {
			if err := s.InsertUser(ctx(t), u); err != nil {
				t.Fatal(err)
			}
		}
		for except, want := range map[string]int64{"": 2, a1.ID: 1, off.ID: 2} {
			if n, err := s.CountActiveAdmins(ctx(t), except); err != nil || n != want {
				t.Errorf("CountActiveAdmins(except %q) = %d, %v; want %d", except, n, err, want)
			}
		}
	})
}

// TestRotationHasOneWinner: the guarantee refresh-token rotation rests on.
// 50 concurrent identical conditional updates, 10 rounds: exactly one
// winner each time.
func TestRotationHasOneWinner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		uid := db.NewID()
		for round := range 10 {
			id := fmt.Sprintf("s%d", round)
			if err := s.InsertSession(ctx(t), newSession(id, uid, now())); err != nil {
				t.Fatal(err)
			}
			var wins atomic.Int32
			var winner atomic.Pointer[db.Session]
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					got, err := s.RotateSession(ctx(t), id, "h0", fmt.Sprintf("h1-%d", i), time.Now(), time.Hour, 16)
					if err != nil {
						t.Error(err)
					}
					if got != nil {
						wins.Add(1)
						winner.Store(got)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("round %d: %d rotations won, want exactly 1", round, wins.Load())
			}
			got, err := s.SessionByID(ctx(t), id)
			if err != nil || got.PrevHash != "h0" || got.SecretHash == "h0" || len(got.OldHashes) != 0 || !reflect.DeepEqual(got, winner.Load()) {
				t.Fatalf("after rotation: %+v %v\nreturned %+v", got, err, winner.Load())
			}
		}
		// A revoked or expired session cannot rotate.
		if ok, _ := s.RevokeSession(ctx(t), "s0", "test", time.Now()); !ok {
			t.Fatal("revoke reported not live")
		}
		cur, _ := s.SessionByID(ctx(t), "s0")
		if got, _ := s.RotateSession(ctx(t), "s0", cur.SecretHash, "h2", time.Now(), time.Hour, 16); got != nil {
			t.Fatal("a revoked session rotated")
		}
		cur, _ = s.SessionByID(ctx(t), "s1")
		if got, _ := s.RotateSession(ctx(t), "s1", cur.SecretHash, "h2", time.Now().Add(2*time.Hour), time.Hour, 16); got != nil {
			t.Fatal("an idle-expired session rotated")
		}
		if got, err := s.RotateSession(ctx(t), "missing", "h0", "h2", time.Now(), time.Hour, 16); got != nil || err != nil {
			t.Fatalf("a missing session: %v %v", got, err)
		}
	})
}

// TestRotationKeepsTheSupersededHashes: each rotation moves the replaced
// hash to PrevHash and the one before to the front of OldHashes, keeping
// at most keepOld; the idle end is the earlier of now+idle and the
// absolute end.
func TestRotationKeepsTheSupersededHashes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		t0 := now()
		sess := newSession("r", db.NewID(), t0)
		sess.ExpiresAt = t0.Add(90 * time.Minute)
		if err := s.InsertSession(ctx(t), sess); err != nil {
			t.Fatal(err)
		}
		cur := "h0"
		for i := 1; i <= 6; i++ {
			at := t0.Add(time.Duration(i) * time.Minute)
			next := fmt.Sprintf("h%d", i)
			got, err := s.RotateSession(ctx(t), "r", cur, next, at, time.Hour, 3)
			if err != nil || got == nil {
				t.Fatalf("rotation %d: %v %v", i, got, err)
			}
			var wantOld []string
			for j := i - 2; j >= 0 && len(wantOld) < 3; j-- {
				wantOld = append(wantOld, fmt.Sprintf("h%d", j))
			}
			if wantOld == nil {
				wantOld = []string{}
			}
			wantIdle := at.Add(time.Hour)
			if sess.ExpiresAt.Before(wantIdle) {
				wantIdle = sess.ExpiresAt
			}
			stored, _ := s.SessionByID(ctx(t), "r")
			if !reflect.DeepEqual(stored, got) || got.SecretHash != next || got.PrevHash != cur || !got.PrevReplacedAt.Equal(at) ||
				!reflect.DeepEqual(got.OldHashes, wantOld) || !got.LastUsedAt.Equal(at) || !got.IdleExpiresAt.Equal(wantIdle) {
				t.Fatalf("rotation %d: got %+v\nstored %+v\nwant old %v idle %v", i, got, stored, wantOld, wantIdle)
			}
			cur = next
		}
	})
}

func TestSessionRoundTripAndLists(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		uid, other := db.NewID(), db.NewID()
		t0 := now()
		full := newSession("full", uid, t0)
		revoked := t0.Add(-time.Minute)
		full.PrevHash, full.PrevReplacedAt, full.OldHashes = "p", t0.Add(-time.Second), []string{"o1", "o2"}
		full.RevokedAt, full.RevokedReason = &revoked, "logout"
		if err := s.InsertSession(ctx(t), full); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SessionByID(ctx(t), "full"); err != nil || !reflect.DeepEqual(got, full) {
			t.Fatalf("round trip: %+v %v\nwant %+v", got, err, full)
		}
		for i, id := range []string{"a", "b", "c"} {
			if err := s.InsertSession(ctx(t), newSession(id, uid, t0.Add(time.Duration(i)*time.Second))); err != nil {
				t.Fatal(err)
			}
		}
		expired := newSession("expired", uid, t0.Add(-2*time.Hour))
		if err := s.InsertSession(ctx(t), expired); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertSession(ctx(t), newSession("x", other, t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSession(ctx(t), "a", t0.Add(time.Hour/2)); err != nil {
			t.Fatal(err)
		}
		live, err := s.LiveSessions(ctx(t), uid, t0.Add(time.Minute))
		if ids := sessionIDs(live); err != nil || !reflect.DeepEqual(ids, []string{"a", "c", "b"}) {
			t.Fatalf("live sessions, most recently used first: %v %v", ids, err)
		}
		ended, err := s.RevokeUserSessions(ctx(t), uid, "b", "logout_all", t0)
		sort.Strings(ended)
		if err != nil || !reflect.DeepEqual(ended, []string{"a", "c", "expired"}) {
			t.Fatalf("revoked %v %v", ended, err)
		}
		if live, _ := s.LiveSessions(ctx(t), uid, t0.Add(time.Minute)); !reflect.DeepEqual(sessionIDs(live), []string{"b"}) {
			t.Fatalf("live after revoke: %v", sessionIDs(live))
		}
		if x, _ := s.SessionByID(ctx(t), "x"); !x.Live(t0.Add(time.Minute)) {
			t.Fatal("another user's session was revoked")
		}
		if ok, _ := s.RevokeSession(ctx(t), "a", "again", t0); ok {
			t.Fatal("revoking a revoked session reported it live")
		}
		if _, err := s.SessionByID(ctx(t), "nope"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("missing session: %v", err)
		}
		if err := s.InsertSession(ctx(t), newSession("b", uid, t0)); !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate session id: %v", err)
		}
	})
}

func sessionIDs(list []db.Session) []string {
	ids := []string{}
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestSweepRemovesEndedSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		t0 := now()
		revokedAt := t0.Add(-48 * time.Hour)
		for _, sess := range []*db.Session{
			{ID: "live", IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(time.Hour)},
			{ID: "expired", IdleExpiresAt: t0.Add(-48 * time.Hour), ExpiresAt: t0.Add(time.Hour)},
			{ID: "over", IdleExpiresAt: t0.Add(-48 * time.Hour), ExpiresAt: t0.Add(-48 * time.Hour)},
			{ID: "revoked", IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(time.Hour), RevokedAt: &revokedAt},
			{ID: "just-ended", IdleExpiresAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)},
		} {
			sess.UserID, sess.SecretHash = db.NewID(), "h"
			if err := s.InsertSession(ctx(t), sess); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.SweepSessions(ctx(t), t0.Add(-24*time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("swept %d, %v; want 3", n, err)
		}
		for _, id := range []string{"live", "just-ended"} {
			if _, err := s.SessionByID(ctx(t), id); err != nil {
				t.Fatalf("%s swept: %v", id, err)
			}
		}
	})
}

// TestConcurrentFailuresAreAllCounted: 50 × 20 concurrent increments of one
// counter add 1000.
func TestConcurrentFailuresAreAllCounted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		t0 := now()
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range 50 {
			wg.Go(func() {
				for range 20 {
					if _, err := s.CountFailure(ctx(t), "acct:a@lab.org", time.Minute, t0); err != nil {
						failed.Add(1)
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		c, err := s.CounterState(ctx(t), "acct:a@lab.org", t0)
		if err != nil || c.Failures != 1000 || failed.Load() != 0 || !c.WindowEnds.Equal(t0.Add(time.Minute)) {
			t.Fatalf("counter %+v, %v; want 1000 failures ending %v", c, err, t0.Add(time.Minute))
		}
		// After the window the count starts again at one.
		later := c.WindowEnds.Add(time.Second)
		if c, _ := s.CounterState(ctx(t), "acct:a@lab.org", later); c.Failures != 0 {
			t.Fatalf("expired window still counts %d", c.Failures)
		}
		if c, _ := s.CountFailure(ctx(t), "acct:a@lab.org", time.Minute, later); c.Failures != 1 || !c.WindowEnds.Equal(later.Add(time.Minute)) {
			t.Fatalf("new window: %+v", c)
		}
		if err := s.ReleaseAttempt(ctx(t), "acct:a@lab.org"); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.CounterState(ctx(t), "acct:a@lab.org", later); c.Failures != 0 {
			t.Fatalf("after giving the attempt back: %d", c.Failures)
		}
		if err := s.ReleaseAttempt(ctx(t), "acct:a@lab.org"); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.CountFailure(ctx(t), "acct:a@lab.org", time.Minute, later); c.Failures != 1 {
			t.Fatalf("a release below zero: the next count is %d, want 1", c.Failures)
		}
		if err := s.ResetCounter(ctx(t), "acct:a@lab.org"); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.CounterState(ctx(t), "acct:a@lab.org", later); c.Failures != 0 {
			t.Fatalf("reset counter counts %d", c.Failures)
		}
		if _, err := s.CountFailure(ctx(t), "ip:192.0.2.9", time.Minute, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.SweepCounters(ctx(t), t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.CounterState(ctx(t), "ip:192.0.2.9", t0); c.Failures != 0 {
			t.Fatal("a swept counter still counts")
		}
	})
}

func TestAuditPagesAndFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		alice, bob := db.NewID(), db.NewID()
		var all []*db.AuditEvent
		for i := range 25 {
			e := &db.AuditEvent{At: now(), Event: "login_ok", UserID: alice, ActorID: alice, IP: "192.0.2.1"}
			switch i % 5 {
			case 1:
				e.Event, e.UserID, e.ActorID = "user_changed", bob, alice // alice changed bob
			case 2:
				e.Event, e.UserID, e.ActorID = "login_failed", "", "" // unknown user
				e.Email = "who@lab.org"
			case 3:
				e.Event, e.UserID, e.ActorID = "login_ok", bob, bob
			}
			if i == 0 {
				e.Details = map[string]any{"before": map[string]any{"role": "viewer", "disabled": false},
					"after": map[string]any{"role": "admin"}, "sessions": 3, "list": []any{"a", 1.5}}
			}
			if err := s.InsertAudit(ctx(t), e); err != nil {
				t.Fatal(err)
			}
			if !db.ValidID(e.ID) {
				t.Fatalf("InsertAudit left id %q", e.ID)
			}
			all = append(all, e)
		}
		// Details come back JSON-shaped, numbers as float64, in both adapters.
		first, _, err := s.ListAudit(ctx(t), db.AuditFilter{Event: "login_ok", UserID: alice}, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"before": map[string]any{"role": "viewer", "disabled": false},
			"after": map[string]any{"role": "admin"}, "sessions": float64(3), "list": []any{"a", 1.5}}
		oldest := first[len(first)-1]
		if oldest.ID != all[0].ID || !reflect.DeepEqual(oldest.Details, want) || !oldest.At.Equal(all[0].At) {
			t.Fatalf("oldest event %+v, want details %v", oldest, want)
		}
		cases := []struct {
			name string
			f    db.AuditFilter
			want func(e *db.AuditEvent) bool
		}{
			{"all", db.AuditFilter{}, func(*db.AuditEvent) bool { return true }},
			{"about or by alice", db.AuditFilter{UserID: alice}, func(e *db.AuditEvent) bool { return e.UserID == alice || e.ActorID == alice }},
			{"about or by bob", db.AuditFilter{UserID: bob}, func(e *db.AuditEvent) bool { return e.UserID == bob || e.ActorID == bob }},
			{"event", db.AuditFilter{Event: "login_failed"}, func(e *db.AuditEvent) bool { return e.Event == "login_failed" }},
			{"bob's changes", db.AuditFilter{UserID: bob, Event: "user_changed"}, func(e *db.AuditEvent) bool {
				return e.Event == "user_changed" && (e.UserID == bob || e.ActorID == bob)
			}},
		}
		for _, c := range cases {
			var want []string
			for i := len(all) - 1; i >= 0; i-- {
				if c.want(all[i]) {
					want = append(want, all[i].ID)
				}
			}
			// Walk pages of 4, newest first.
			var got []string
			f := c.f
			for page := 0; ; page++ {
				events, more, err := s.ListAudit(ctx(t), f, 4)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					got = append(got, e.ID)
				}
				if !more {
					break
				}
				if page > 20 || len(events) != 4 {
					t.Fatalf("%s: page %d has %d events and says more", c.name, page, len(events))
				}
				f.Before = events[len(events)-1].ID
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n got %v\nwant %v", c.name, got, want)
			}
		}
	})
}

func TestSigningKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		t0 := now()
		for i, id := range []string{"k1", "k2", "k3"} {
			k := &db.SigningKey{ID: id, Algorithm: "EdDSA", PrivateKey: []byte{byte(i), 1, 2}, CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			if err := s.InsertSigningKey(ctx(t), k); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertSigningKey(ctx(t), &db.SigningKey{ID: "k1", Algorithm: "EdDSA", PrivateKey: []byte{9}, CreatedAt: t0}); !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate kid: %v", err)
		}
		if err := s.RetireSigningKeys(ctx(t), "k3", t0); err != nil {
			t.Fatal(err)
		}
		keys, err := s.SigningKeys(ctx(t))
		if err != nil || len(keys) != 3 || keys[0].ID != "k1" || keys[2].ID != "k3" ||
			keys[0].RetiredAt == nil || !keys[0].RetiredAt.Equal(t0) || keys[2].RetiredAt != nil || !reflect.DeepEqual(keys[1].PrivateKey, []byte{1, 1, 2}) {
			t.Fatalf("keys %+v %v", keys, err)
		}
		n, err := s.DeleteSigningKeysRetiredBefore(ctx(t), t0.Add(time.Second))
		if err != nil || n != 2 {
			t.Fatalf("deleted %d %v", n, err)
		}
		if keys, _ := s.SigningKeys(ctx(t)); len(keys) != 1 || keys[0].ID != "k3" {
			t.Fatalf("left %+v", keys)
		}
	})
}

func TestSetupIsClaimedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				id := db.NewID()
				err := s.ClaimSetup(ctx(t), id, time.Now())
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(id)
				case !errors.Is(err, db.ErrConflict):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d claims won", wins.Load())
		}
		// Only the winner's claim can be released.
		if err := s.ReleaseSetup(ctx(t), db.NewID()); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimSetup(ctx(t), db.NewID(), time.Now()); !errors.Is(err, db.ErrConflict) {
			t.Fatalf("claim after a stranger's release: %v", err)
		}
		if err := s.ReleaseSetup(ctx(t), winner.Load().(string)); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimSetup(ctx(t), db.NewID(), time.Now()); err != nil {
			t.Fatalf("claim after release: %v", err)
		}
	})
}

func TestLeaseExcludesOtherHolders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		var inside, maxInside atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				err := s.WithLease(ctx(t), "admins", 5*time.Second, 20*time.Second, func() error {
					n := inside.Add(1)
					for {
						m := maxInside.Load()
						if n <= m || maxInside.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(5 * time.Millisecond)
					inside.Add(-1)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if maxInside.Load() != 1 {
			t.Fatalf("%d holders at once", maxInside.Load())
		}
		// A held lease makes a short wait fail; a lease left behind expires.
		blocked, release := make(chan struct{}), make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = s.WithLease(context.Background(), "stuck", 300*time.Millisecond, time.Second, func() error {
				close(blocked)
				<-release
				return nil
			})
		}()
		<-blocked
		if err := s.WithLease(ctx(t), "stuck", time.Second, 50*time.Millisecond, func() error { return nil }); !errors.Is(err, db.ErrLeaseHeld) {
			t.Fatalf("held lease: got %v, want ErrLeaseHeld", err)
		}
		if err := s.WithLease(ctx(t), "stuck", time.Second, 5*time.Second, func() error { return nil }); err != nil {
			t.Fatalf("expired lease not taken over: %v", err)
		}
		close(release)
		<-done
	})
}

func TestPingAndMode(t *testing.T) {
	for _, a := range dbtest.Adapters {
		t.Run(a.Name, func(t *testing.T) {
			s := a.Open(t)
			if err := s.Ping(ctx(t)); err != nil {
				t.Fatal(err)
			}
			want := map[string]db.Mode{"sqlite": db.ModeEmbedded, "mongo": db.ModeHosted}[a.Name]
			if s.Mode() != want {
				t.Fatalf("mode %q, want %q", s.Mode(), want)
			}
			if err := s.Close(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(ctx(t)); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

func TestNewIDsAreOrderedAndValid(t *testing.T) {
	prev := ""
	for range 1000 {
		id := db.NewID()
		if !db.ValidID(id) || id <= prev {
			t.Fatalf("id %q after %q", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "6B0BE26C0A2B76D58FEB6FE2", "6b0be26c0a2b76d58feb6fe", "6b0be26c0a2b76d58feb6fez"} {
		if db.ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}

func TestAuditRetentionSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		t0 := now()
		for i, age := range []time.Duration{500 * 24 * time.Hour, 401 * 24 * time.Hour, 399 * 24 * time.Hour, time.Hour} {
			if err := s.InsertAudit(ctx(t), &db.AuditEvent{At: t0.Add(-age), Event: fmt.Sprintf("e%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteAuditBefore(ctx(t), t0.Add(-400*24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("deleted %d, %v; want 2", n, err)
		}
		left, _, err := s.ListAudit(ctx(t), db.AuditFilter{}, 10)
		if err != nil || len(left) != 2 || left[0].Event != "e3" || left[1].Event != "e2" {
			t.Fatalf("left %+v %v", left, err)
		}
	})
}

func TestEmailSkeletons(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		u := newUser("admin@lab.org", db.RoleAdmin)
		u.EmailSkeleton = "adrnin@lab.org"
		if err := s.InsertUser(ctx(t), u); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserBySkeleton(ctx(t), "adrnin@lab.org"); err != nil || got.ID != u.ID || got.EmailSkeleton != u.EmailSkeleton {
			t.Fatalf("UserBySkeleton: %+v %v", got, err)
		}
		old := newUser("old@lab.org", db.RoleViewer) // stored before skeletons existed
		if err := s.InsertUser(ctx(t), old); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserBySkeleton(ctx(t), "o1d@lab.org"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("a skeleton nobody has: %v", err)
		}
		if got, err := s.UsersWithoutSkeleton(ctx(t), 10); err != nil || len(got) != 1 || got[0].ID != old.ID {
			t.Fatalf("UsersWithoutSkeleton: %+v %v", got, err)
		}
		if err := s.SetEmailSkeleton(ctx(t), old.ID, "o1d@lab.org"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UsersWithoutSkeleton(ctx(t), 10); err != nil || len(got) != 0 {
			t.Fatalf("UsersWithoutSkeleton after SetEmailSkeleton: %+v %v", got, err)
		}
		if got, err := s.UserBySkeleton(ctx(t), "o1d@lab.org"); err != nil || got.ID != old.ID {
			t.Fatalf("after SetEmailSkeleton: %+v %v", got, err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		alice, bob := newUser("alice@lab.org", db.RoleReviewer), newUser("bob@lab.org", db.RoleViewer)
		for _, u := range []*db.User{alice, bob} {
			if err := s.InsertUser(ctx(t), u); err != nil {
				t.Fatal(err)
			}
		}
		t0 := now()
		a1 := newToken(alice.ID, "h-a1", t0)
		a2 := newToken(alice.ID, "h-a2", t0)
		a2.Projects = []string{"sweep-12", "ÿ \"quoted\""}
		b1 := newToken(bob.ID, "h-b1", t0)
		b1.Scopes = []string{"runs:read"}
		for _, tok := range []*db.APIToken{a1, a2, b1} {
			if err := s.InsertAPIToken(ctx(t), tok); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.APITokenByHash(ctx(t), "h-a2")
		if err != nil || !reflect.DeepEqual(got, a2) {
			t.Fatalf("APITokenByHash: %+v, %v; want %+v", got, err, a2)
		}
		if got, err := s.APITokenByID(ctx(t), b1.ID); err != nil || !reflect.DeepEqual(got, b1) {
			t.Fatalf("APITokenByID: %+v, %v; want %+v", got, err, b1)
		}
		for _, bad := range []func() error{
			func() error { _, err := s.APITokenByHash(ctx(t), "h-none"); return err },
			func() error { _, err := s.APITokenByID(ctx(t), db.NewID()); return err },
			func() error { _, err := s.APITokenByID(ctx(t), "not-an-id"); return err },
			func() error { _, err := s.RevokeAPIToken(ctx(t), db.NewID(), t0); return err },
		} {
			if err := bad(); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("unknown token: got %v, want ErrNotFound", err)
			}
		}
		// The hash is unique.
		if err := s.InsertAPIToken(ctx(t), newToken(bob.ID, "h-a1", t0)); !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate hash: got %v, want ErrConflict", err)
		}

		ids := func(ts []db.APIToken) []string {
			out := []string{}
			for _, tok := range ts {
				out = append(out, tok.ID)
			}
			return out
		}
		mine, err := s.ListAPITokens(ctx(t), alice.ID)
		if err != nil || !reflect.DeepEqual(ids(mine), []string{a2.ID, a1.ID}) {
			t.Fatalf("alice's tokens, newest first: %v %v", ids(mine), err)
		}
		all, err := s.ListAPITokens(ctx(t), "")
		if err != nil || !reflect.DeepEqual(ids(all), []string{b1.ID, a2.ID, a1.ID}) {
			t.Fatalf("every token, newest first: %v %v", ids(all), err)
		}

		used := t0.Add(time.Minute)
		if err := s.TouchAPIToken(ctx(t), a1.ID, used); err != nil {
			t.Fatal(err)
		}
		// Revocation happens once, even when racing.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.RevokeAPIToken(ctx(t), a1.ID, used.Add(time.Second))
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d revocations reported as first, want 1", wins.Load())
		}
		got, err = s.APITokenByHash(ctx(t), "h-a1")
		if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.RevokedAt == nil || !got.RevokedAt.Equal(used.Add(time.Second)) {
			t.Fatalf("after use and revocation: %+v %v", got, err)
		}
	})
}

func TestSharedSecretIsStoredOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		var wg sync.WaitGroup
		got := make([][]byte, 16)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := s.SharedSecret(ctx(t), "k", []byte(fmt.Sprintf("candidate-%02d", i)))
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			}()
		}
		wg.Wait()
		for _, v := range got {
			if len(v) == 0 || string(v) != string(got[0]) {
				t.Fatalf("callers saw different secrets: %q", got)
			}
		}
		if v, err := s.SharedSecret(ctx(t), "other", []byte("x")); err != nil || string(v) != "x" {
			t.Fatalf("a second name: %q %v", v, err)
		}
	})
}
